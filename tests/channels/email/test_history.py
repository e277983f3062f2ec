"""Email history (`dovecote.channels.email.history`): one entry per email, its bounce counts."""

from __future__ import annotations

import pytest
from fastapi import FastAPI

from dispatch_support import deliver, event_log
from dovecote.channels.email import compose as email_domain
from dovecote.channels.email import history
from dovecote.channels.email.mime import Mailbox
from dovecote.settings import Settings
from dovecote.storage.listing import ListQuery
from email_support import email_events, engine_of, owner_principal


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # One attempt: a deferred message is then out of retries at once (a soft bounce).
    return settings.model_copy(
        update={
            "worker_max_attempts": 1,
            "sandbox_rules": ["hard@=reject", "late@=expired", "slow@=defer:5"],
        }
    )


async def test_a_soft_bounce_after_the_last_retry_counts_as_soft_as_in_email_activity(
    app: FastAPI, settings: Settings
) -> None:
    engine = engine_of(app)
    me = await owner_principal(engine)
    mail = email_domain.Email(
        sender=Mailbox("me@example.com"),
        to=[
            Mailbox("hard@example.net"),
            Mailbox("late@example.net"),
            Mailbox("slow@example.net"),
            Mailbox("fine@example.net"),
        ],
        subject="Bounces",
        text="Hello",
    )
    async with engine.begin() as conn:
        queued = await email_domain.queue_emails(
            conn, me, [mail], settings=settings, events=event_log(), prices=None
        )
    assert await deliver(engine, settings) == 4

    bounce_types = {}
    for message_id in queued.message_ids:
        for event in await email_events(engine, message_id):
            if event["type"] == "bounce":
                bounce_types[message_id] = event["data"]["bounce_type"]
    # Email Activity: "bounce" is hard; "blocked" (expired, out of retries) is soft.
    assert sorted(bounce_types.values()) == ["blocked", "blocked", "bounce"]

    async with engine.connect() as conn:
        _, [entry] = await history.list_history(conn, me, ListQuery())
    assert (entry.hard_bounces, entry.soft_bounces) == (1, 2)
