"""SystemMailer: who may trigger Dovecote's own mail, and how much of it."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI

from dovecote.accounts import service as accounts
from dovecote.channels.email.system_mail import SystemMailer
from dovecote.core.errors import DomainError, RateLimited
from dovecote.settings import Settings
from email_support import email_rows, engine_of, owner_principal


async def mail(app: FastAPI, mailer: Any, username: str, **options: Any) -> str:
    engine = engine_of(app)
    principal = await owner_principal(engine, username)
    async with engine.begin() as conn:
        message_id: str = await mailer.send(
            conn,
            account_id=principal.account.id,
            user_id=principal.user.id,
            to="victim@example.com",
            subject="Verify your sender address",
            html="<p>Activation token: abc</p>",
            **options,
        )
    return message_id


@pytest.mark.parametrize(
    ("username", "status", "code"),
    [
        ("nocredit", 400, "INSUFFICIENT_CREDIT"),
        ("notactive", 403, "ACCOUNT_NOT_ACTIVATED"),
        ("banned", 403, "ACCOUNT_BANNED"),
    ],
)
async def test_an_account_that_may_not_send_triggers_no_system_mail(
    app: FastAPI, username: str, status: int, code: str
) -> None:
    with pytest.raises(DomainError) as raised:
        await mail(app, app.state.runtime.system_mail, username)

    assert (raised.value.status, raised.value.code) == (status, code)
    assert await email_rows(engine_of(app)) == []


async def test_the_platforms_own_mail_reaches_an_account_that_may_not_send(
    app: FastAPI,
) -> None:
    sent = [
        await mail(app, app.state.runtime.system_mail, username, by_account=False)
        for username in ("nocredit", "notactive")
    ]

    rows = await email_rows(engine_of(app))
    assert sorted(row["id"] for row in rows) == sorted(sent)
    assert {row["price_micros"] for row in rows} == {0}


async def test_system_mail_an_account_triggers_is_capped_per_hour(
    app: FastAPI, settings: Settings
) -> None:
    runtime = app.state.runtime
    capped = settings.model_copy(update={"system_mail_per_account_per_hour": 3})
    mailer = SystemMailer(capped, runtime.events, runtime.limiter)
    for _ in range(3):
        await mail(app, mailer, "owner")

    with pytest.raises(RateLimited) as raised:
        await mail(app, mailer, "owner")
    platform = await mail(app, mailer, "owner", by_account=False)
    other_account = await mail(app, mailer, "notactive", by_account=False)

    assert 0 < raised.value.retry_after <= 3600
    assert raised.value.status == 429
    rows = await email_rows(engine_of(app))
    assert len(rows) == 5
    assert {platform, other_account} <= {row["id"] for row in rows}


async def test_the_cap_is_kept_per_account(app: FastAPI, settings: Settings) -> None:
    runtime = app.state.runtime
    capped = settings.model_copy(update={"system_mail_per_account_per_hour": 1})
    mailer = SystemMailer(capped, runtime.events, runtime.limiter)
    engine = engine_of(app)
    async with engine.begin() as conn:
        await accounts.create_account(
            conn, username="second", login_password=False, balance_micros=1_000_000
        )

    await mail(app, mailer, "owner")
    await mail(app, mailer, "second")
    with pytest.raises(RateLimited):
        await mail(app, mailer, "second")

    assert len(await email_rows(engine)) == 2
