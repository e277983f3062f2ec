"""The Email Activity sink: one summary row per email, kept current by the event log."""

from __future__ import annotations

import dataclasses
from typing import Any

import sqlalchemy as sa
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from dispatch_support import event_log
from dovecote import wiring
from dovecote.activity.sink import email_activity_sink
from dovecote.channels.email import compose as email_domain
from dovecote.channels.email.mime import Mailbox
from dovecote.pipeline.events import Event
from dovecote.settings import Settings
from dovecote.storage.tables import email_activity, suppressions
from email_support import engine_of, owner_principal, select


async def queue(app: FastAPI, settings: Settings, *recipients: str) -> list[str]:
    engine = engine_of(app)
    me = await owner_principal(engine)
    mail = email_domain.Email(
        sender=Mailbox("me@example.com"),
        to=[Mailbox(address) for address in recipients],
        subject="Activity",
        html="<p>x</p>",
        categories=["news", "news", "weekly"],
        unique_args={"order": "42"},
    )
    async with engine.begin() as conn:
        queued = await email_domain.queue_emails(
            conn,
            me,
            [mail],
            settings=settings,
            events=event_log(),
            prices=None,
            originating_ip="198.51.100.4",
        )
    return queued.message_ids


def event(message_id: str, kind: str, at: float, **data: Any) -> Event:
    return Event(message_id, 1, 1, "email", kind, at, data)


async def feed(engine: AsyncEngine, *events: Event) -> None:
    """Through the one event writer, as every producer of events goes."""
    async with engine.begin() as conn:
        await event_log().record(conn, list(events))


async def activity(engine: AsyncEngine, message_id: str) -> dict[str, Any]:
    query = sa.select(email_activity).where(email_activity.c.message_id == message_id)
    [row] = await select(engine, query)
    return row


def test_the_sink_is_registered() -> None:
    assert email_activity_sink in wiring.SINKS


async def test_processed_creates_the_row_with_what_activity_searches(
    app: FastAPI, settings: Settings
) -> None:
    [message_id] = await queue(app, settings, "reader@example.net")
    row = await activity(engine_of(app), message_id)
    assert row["status"] == "processed"
    assert (row["from_email"], row["to_email"]) == ("me@example.com", "reader@example.net")
    assert row["subject"] == "Activity"
    assert row["categories"] == ["news", "weekly"]
    assert row["unique_args"] == {"order": "42"}
    assert row["originating_ip"] == "198.51.100.4"
    assert row["api_key_id"] is None  # queued from code, not with a key
    assert (row["opens_count"], row["clicks_count"]) == (0, 0)


async def test_delivery_then_engagement_update_status_counts_and_time(
    app: FastAPI, settings: Settings
) -> None:
    [message_id] = await queue(app, settings, "reader@example.net")
    engine = engine_of(app)
    created = (await activity(engine, message_id))["created_at"]
    await feed(
        engine,
        event(message_id, "deferred", created + 1, attempt_num=1),
        event(message_id, "delivered", created + 2, mx_server="mx"),
    )
    row = await activity(engine, message_id)
    assert (row["status"], row["last_event_time"]) == ("delivered", created + 2)
    await feed(
        engine,
        event(message_id, "open", created + 5),
        event(message_id, "open", created + 4),
        event(message_id, "click", created + 6, url="https://example.org/"),
    )
    row = await activity(engine, message_id)
    assert (row["opens_count"], row["clicks_count"]) == (2, 1)
    assert row["last_event_time"] == created + 6
    # An event older than the newest one never moves the time back.
    await feed(engine, event(message_id, "open", created + 3))
    row = await activity(engine, message_id)
    assert (row["opens_count"], row["last_event_time"]) == (3, created + 6)


async def test_a_hard_bounce_is_not_delivered_and_suppresses_the_address(
    app: FastAPI, settings: Settings
) -> None:
    hard, soft = await queue(app, settings, "Gone@Example.net", "full@example.net")
    engine = engine_of(app)
    await feed(
        engine,
        event(hard, "bounce", 2e9, bounce_type="bounce", reason="550 5.1.1 unknown"),
        event(soft, "bounce", 2e9, bounce_type="blocked", reason="452 mailbox full"),
    )
    assert (await activity(engine, hard))["status"] == "not_delivered"
    assert (await activity(engine, soft))["status"] == "not_delivered"
    rows = await select(engine, sa.select(suppressions))
    assert [(r["email"], r["reason"]) for r in rows] == [("gone@example.net", "bounce")]
    # A second hard bounce for the same address keeps the one entry.
    await feed(engine, event(hard, "bounce", 2e9 + 1, bounce_type="bounce"))
    assert len(await select(engine, sa.select(suppressions))) == 1


async def test_an_unsubscribe_suppresses_and_a_replayed_processed_is_harmless(
    app: FastAPI, settings: Settings
) -> None:
    [message_id] = await queue(app, settings, "leaver@example.net")
    engine = engine_of(app)
    await feed(engine, event(message_id, "unsubscribe", 2e9))
    rows = await select(engine, sa.select(suppressions))
    assert [(r["email"], r["reason"]) for r in rows] == [("leaver@example.net", "unsubscribe")]
    replay = event(message_id, "processed", 1.0, to_email="other@example.net", categories=["x"])
    await feed(engine, replay)
    row = await activity(engine, message_id)
    assert row["to_email"] == "leaver@example.net" and row["categories"] == ["news", "weekly"]


async def test_events_of_other_channels_are_ignored(app: FastAPI, settings: Settings) -> None:
    [message_id] = await queue(app, settings, "reader@example.net")
    engine = engine_of(app)
    sms = dataclasses.replace(event(message_id, "delivered", 2e9), channel="sms")
    await feed(engine, sms)
    assert (await activity(engine, message_id))["status"] == "processed"
