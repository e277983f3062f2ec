"""Each account's stored sandbox scripts, as the sandboxes see them: ahead of the
settings' rules, for that account only, reread when their version moves and that
version read at most every refresh interval."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from dovecote.accounts.service import authenticate_basic
from dovecote.pipeline import sandbox_scripts
from dovecote.pipeline.transports.base import Job
from dovecote.pipeline.transports.email_sandbox import EmailSandboxTransport
from dovecote.pipeline.transports.scripts import Scripts
from dovecote.settings import Settings
from dovecote.storage.db import create_engine
from sms_support import other_account


@pytest.fixture
async def engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(settings.database_url)
    yield engine
    await engine.dispose()


async def _add(engine: AsyncEngine, username: str, key: str, kind: str, line: str) -> None:
    prefix, _, outcome = line.partition("=")
    async with engine.begin() as conn:
        principal = await authenticate_basic(conn, username, key)
        await sandbox_scripts.add_script(conn, principal, kind, prefix, outcome)


async def test_an_accounts_rules_come_first_and_only_for_it(engine: AsyncEngine) -> None:
    mine = await other_account(engine, "mine")
    theirs = await other_account(engine, "theirs")
    await _add(engine, mine.username, mine.api_key, "rule", "+1555=failed:302")
    await _add(engine, mine.username, mine.api_key, "reply", "+1555=Got it")
    scripts = Scripts.of(["+1=expired"], ["+1=Hello"], refresh=0)
    scripts.start(engine)

    await scripts.current()

    own = scripts.of_account(mine.account_id)
    assert [(r.prefix, r.action, r.argument) for r in own.rules] == [
        ("+1555", "failed", "302"),
        ("+1", "expired", ""),
    ]
    assert own.replies == (("+1555", "Got it"), ("+1", "Hello"))
    assert scripts.of_account(theirs.account_id) == scripts.base


async def test_the_version_is_read_at_most_every_refresh_interval(engine: AsyncEngine) -> None:
    mine = await other_account(engine, "mine")
    scripts = Scripts.of([], [], refresh=3600)
    scripts.start(engine)
    await scripts.current()

    await _add(engine, mine.username, mine.api_key, "rule", "+1555=reject")
    await scripts.current()
    assert scripts.of_account(mine.account_id).rules == ()  # not yet looked

    scripts.refresh = 0
    await scripts.current()
    assert [r.action for r in scripts.of_account(mine.account_id).rules] == ["reject"]


async def test_an_unreachable_database_keeps_the_scripts_in_hand(settings: Settings) -> None:
    engine = create_engine(settings.database_url)
    mine = await other_account(engine, "mine")
    await _add(engine, mine.username, mine.api_key, "rule", "+1555=reject")
    scripts = Scripts.of([], [], refresh=0)
    scripts.start(engine)
    await scripts.current()
    async with engine.begin() as conn:
        await conn.execute(sa.text("DROP TABLE sandbox_scripts_version"))
    await scripts.current()  # logged, not raised: delivery goes on with what it had
    assert [r.action for r in scripts.of_account(mine.account_id).rules] == ["reject"]
    await engine.dispose()


async def test_the_email_sandbox_bounces_by_an_accounts_stored_rule(engine: AsyncEngine) -> None:
    mine = await other_account(engine, "mine")
    await _add(engine, mine.username, mine.api_key, "rule", "Bounce@=reject")
    sandbox = EmailSandboxTransport(refresh=0)
    sandbox.scripts.start(engine)

    [outcome] = await sandbox.send([_email(mine.account_id)])
    [other] = await sandbox.send([_email(mine.account_id + 1)])

    assert outcome.kind == "failed"
    assert outcome.detail["bounce_type"] == "bounce"
    assert other.kind == "delivered"


def _email(account_id: int) -> Job:
    return Job(
        id="01900000-0000-7000-8000-000000000002",
        account_id=account_id,
        user_id=1,
        channel="email",
        sender="me@example.com",
        recipient="bounce@example.com",
        subject="Hi",
        body="Hello",
        attempts=0,
        custom_string=None,
        created_at=0,
        sent_at=None,
        transport_ref=None,
    )
