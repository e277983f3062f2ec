"""The wiring table: a new channel is a `Channel` spec plus a line in the table.

A fake channel here ("pigeon") gets its own event names and its own reply handling,
and a message on it is delivered through the sandbox by a worker built exactly as
`dovecote serve` builds one, without touching any pipeline module.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from dovecote import wiring
from dovecote.pipeline.channel import Channel, ChannelError, check
from dovecote.pipeline.events import EventLog
from dovecote.pipeline.outbound import Outbound, accept
from dovecote.pipeline.transports.base import Job, Reply
from dovecote.pipeline.worker import Worker
from dovecote.settings import Settings
from dovecote.storage.tables import events, messages
from email_support import owner_principal

replies: list[tuple[str, str]] = []


async def _land(conn: AsyncConnection, events: EventLog, job: Job, reply: Reply) -> None:
    replies.append((job.id, reply.body))


PIGEON = check(
    Channel(
        name="pigeon",
        events={
            "sent": "released",
            "delivered": "landed",
            "failed": "lost",
            "expired": "lost",
            "deferred": "grounded",
        },
        on_reply=_land,
    )
)


async def queue_pigeon(engine: AsyncEngine, recipient: str) -> str:
    principal = await owner_principal(engine)
    item = Outbound(channel="pigeon", recipient=recipient, body="Coo")
    async with engine.begin() as conn:
        accepted = await accept(
            conn, principal, [item], now=time.time(), throttle_window=0, events=None
        )
    [queued] = accepted.queued
    assert queued.id is not None
    return queued.id


async def history(engine: AsyncEngine, message_id: str) -> tuple[str, list[str]]:
    async with engine.connect() as conn:
        status = (
            await conn.execute(sa.select(messages.c.status).where(messages.c.id == message_id))
        ).scalar_one()
        kinds = (
            await conn.execute(
                sa.select(events.c.type)
                .where(events.c.message_id == message_id)
                .order_by(events.c.id)
            )
        ).scalars()
        return str(status), list(kinds)


def pigeon_worker(app: FastAPI, settings: Settings, **changes: Any) -> Worker:
    runtime = app.state.runtime
    runtime.settings = settings.model_copy(update=changes)
    return wiring.build_worker(runtime, channels=(*wiring.CHANNELS, PIGEON))


async def test_a_new_channel_is_delivered_through_the_sandbox_with_its_own_events(
    app: FastAPI, settings: Settings
) -> None:
    engine = app.state.runtime.engine
    message_id = await queue_pigeon(engine, "+12025550100")
    worker = pigeon_worker(app, settings, sandbox_receipt_delay=0)

    assert await worker.dispatcher.run_once() == 1  # handed over: sent
    assert await worker.dispatcher.run_once() == 1  # the sandbox's receipt: delivered

    assert await history(engine, message_id) == ("delivered", ["released", "landed"])


async def test_a_reply_goes_to_the_channels_own_handler(app: FastAPI, settings: Settings) -> None:
    replies.clear()
    engine = app.state.runtime.engine
    message_id = await queue_pigeon(engine, "+12025550101")
    worker = pigeon_worker(
        app, settings, sandbox_receipt_delay=0, sandbox_auto_replies=["+1202=Got it"]
    )

    while await worker.dispatcher.run_once():
        pass

    assert replies == [(message_id, "Got it")]


async def test_an_unwired_channel_is_never_handed_to_another_channels_transport(
    app: FastAPI, settings: Settings
) -> None:
    engine = app.state.runtime.engine
    message_id = await queue_pigeon(engine, "+12025550102")
    worker = wiring.build_worker(app.state.runtime)  # the standard table: no pigeon

    await worker.dispatcher.run_once()

    status, kinds = await history(engine, message_id)
    assert (status, kinds) == ("queued", [])


def test_a_channel_must_name_an_event_for_every_outcome() -> None:
    with pytest.raises(ChannelError, match="deferred"):
        check(Channel(name="half", events={"sent": "s", "delivered": "d", "failed": "f"}))


def test_a_channel_set_to_an_unknown_transport_stops_the_worker_at_start_up(
    app: FastAPI, settings: Settings
) -> None:
    app.state.runtime.settings = settings.model_copy(update={"transports": {"sms": "carrier"}})
    with pytest.raises(ChannelError, match="'carrier'"):
        wiring.build_worker(app.state.runtime)
