"""The worker loop in-process: the next batch claimed while the last one is finished.

On PostgreSQL the loop claims and hands over batch N+1 while batch N's outcomes are
written (`Dispatcher.may_overlap`); SQLite's one connection would serialize the two, so
it runs them in turn. Each test runs on both and states what must hold on both: nothing
lost, nothing handed to the transport twice within a lease, one `sent` event a message.
The dispatcher's clock is movable (`clock.now`) so a lease can run out in no real time.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncConnection

from dispatch_support import dispatcher as build_dispatcher
from dovecote import wiring
from dovecote.pipeline import dispatcher as dispatcher_module
from dovecote.pipeline.dispatcher import Dispatcher
from dovecote.pipeline.events import Event, EventLog, EventSink
from dovecote.pipeline.jobs import JobContext
from dovecote.pipeline.transports.base import Job, Outcome
from dovecote.pipeline.worker import Worker
from dovecote.settings import Settings
from dovecote.storage.tables import events, messages

BATCH = 3


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> SimpleNamespace:
    """The dispatcher's clock, a minute ahead so the messages a test sends are due."""
    state = SimpleNamespace(now=time.time() + 60)
    monkeypatch.setattr(dispatcher_module, "time", SimpleNamespace(time=lambda: state.now))
    return state


class Recording:
    """A transport that takes every message and remembers each batch handed to it."""

    name = "recording"

    def __init__(self, on_send: Callable[[int], Awaitable[None]] | None = None) -> None:
        self.batches: list[list[str]] = []
        self.on_send = on_send
        self.second = asyncio.Event()

    async def send(self, jobs: Sequence[Job]) -> Sequence[Outcome]:
        self.batches.append([job.id for job in jobs])
        if len(self.batches) == 2:
            self.second.set()
        if self.on_send is not None:
            await self.on_send(len(self.batches))
        # No receipt within the test: each message is handed over once, for `send`.
        return [Outcome("sent", transport_ref=f"rec-{job.id}", follow_up_in=3600) for job in jobs]

    async def settle(self, jobs: Sequence[Job]) -> Sequence[Outcome]:
        return [Outcome("delivered") for _ in jobs]

    async def close(self) -> None:
        return None

    def handed(self) -> list[str]:
        return [message_id for batch in self.batches for message_id in batch]


async def send(client: httpx.AsyncClient, count: int, first: int) -> list[str]:
    payload = {"messages": [{"to": f"+1202555{first + n:04d}", "body": "Hi"} for n in range(count)]}
    response = await client.post("/v3/sms/send", json=payload)
    assert response.status_code == 200, response.text
    return [m["message_id"] for m in response.json()["data"]["messages"]]


def worker_for(app: FastAPI, settings: Settings, transport: Recording, *sinks: EventSink) -> Worker:
    configured = settings.model_copy(
        update={"worker_batch_size": BATCH, "worker_poll_interval": 0.02}
    )
    engine = app.state.runtime.engine
    log = EventLog((*wiring.SINKS, *sinks))
    d = build_dispatcher(engine, configured, {"default": transport}, events=log)
    runtime = app.state.runtime
    context = JobContext(engine, configured, log, runtime.system_mail, runtime.files)
    return Worker(d, [], context)


async def rows(app: FastAPI, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    query = sa.select(messages).where(messages.c.id.in_(list(ids)))
    async with app.state.runtime.engine.connect() as conn:
        return {r["id"]: dict(r) for r in (await conn.execute(query)).mappings()}


async def event_types(app: FastAPI, ids: Sequence[str]) -> dict[str, list[str]]:
    query = (
        sa.select(events.c.message_id, events.c.type)
        .where(events.c.message_id.in_(list(ids)))
        .order_by(events.c.id)
    )
    found: dict[str, list[str]] = {message_id: [] for message_id in ids}
    async with app.state.runtime.engine.connect() as conn:
        for message_id, kind in await conn.execute(query):
            found[message_id].append(kind)
    return found


async def until(check: Callable[[], Awaitable[bool]], within: float = 20) -> None:
    deadline = time.monotonic() + within
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


def overlaps(d: Dispatcher) -> bool:
    """Whether this backend's worker claims ahead (PostgreSQL) or takes turns (SQLite)."""
    overlap = d.engine.dialect.name == "postgresql"
    assert d.overlap is overlap
    return overlap


async def test_a_finish_that_fails_while_the_next_batch_is_claimed_loses_and_doubles_nothing(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings, clock: SimpleNamespace
) -> None:
    ids = await send(client, 2 * BATCH, first=0)
    transport = Recording()
    seen: dict[str, bool] = {}

    async def fails_once(conn: AsyncConnection, written: Sequence[Event]) -> None:
        if "overlapped" in seen:
            return
        if worker.dispatcher.overlap:
            # Hold the first finish until the next batch has been claimed and handed over.
            await asyncio.wait_for(transport.second.wait(), 10)
        seen["overlapped"] = transport.second.is_set()
        raise RuntimeError("the database refused the first batch's outcomes")

    worker = worker_for(app, settings, transport, fails_once)
    worker.start()
    try:

        async def second_batch_sent() -> bool:
            if len(transport.batches) < 2:
                return False
            found = await rows(app, transport.batches[1])
            return {r["status"] for r in found.values()} == {"sent"}

        await until(second_batch_sent)
        first, second = transport.batches
        await asyncio.sleep(0.2)  # some idle passes: the failed batch is still leased
        unwritten = await rows(app, first)
        unwritten_events = await event_types(app, first)
        clock.now += settings.worker_lease_seconds + 1  # the failed batch's lease runs out

        async def all_sent() -> bool:
            return {r["status"] for r in (await rows(app, ids)).values()} == {"sent"}

        await until(all_sent)
    finally:
        await worker.stop()

    assert seen["overlapped"] is overlaps(worker.dispatcher)
    assert sorted(first + second) == sorted(ids)
    # Within its lease the failed batch stayed claimed and was not handed over again...
    assert {(r["status"], r["lease_owner"]) for r in unwritten.values()} == {
        ("queued", worker.dispatcher.owner)
    }
    assert set(map(tuple, unwritten_events.values())) == {("queued",)}
    # ...then it was claimed again and sent; every message has one `sent` event.
    assert [sorted(batch) for batch in transport.batches[2:]] == [sorted(first)]
    final = await rows(app, ids)
    assert {(r["status"], r["attempts"], r["lease_owner"]) for r in final.values()} == {
        ("sent", 1, None)
    }
    assert set(map(tuple, (await event_types(app, ids)).values())) == {("queued", "sent")}


async def test_a_batch_past_half_its_lease_is_finished_before_the_next_claim(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings, clock: SimpleNamespace
) -> None:
    ids = await send(client, 2 * BATCH, first=100)
    statuses_at_second_hand_over: set[str] = set()

    async def on_send(number: int) -> None:
        if number == 1:
            clock.now += settings.worker_lease_seconds * 0.6  # a slow hand-over
        else:
            found = await rows(app, transport.batches[0])
            statuses_at_second_hand_over.update(r["status"] for r in found.values())

    async def slow(conn: AsyncConnection, written: Sequence[Event]) -> None:
        await asyncio.sleep(0.5)  # long enough for a claim and hand-over to overtake it

    transport = Recording(on_send)
    worker = worker_for(app, settings, transport, slow)
    worker.start()
    try:

        async def all_sent() -> bool:
            return {r["status"] for r in (await rows(app, ids)).values()} == {"sent"}

        await until(all_sent)
    finally:
        await worker.stop()

    # Claimed as the same owner while the first batch's lease might be over, the next
    # batch waited for the first one's outcomes to be written.
    assert statuses_at_second_hand_over == {"sent"}
    assert sorted(transport.handed()) == sorted(ids)


async def test_a_worker_told_to_stop_writes_every_batch_it_handed_over(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings, clock: SimpleNamespace
) -> None:
    ids = await send(client, 3 * BATCH, first=200)
    transport = Recording()
    entered, release = asyncio.Event(), asyncio.Event()

    async def held(conn: AsyncConnection, written: Sequence[Event]) -> None:
        if not entered.is_set():
            entered.set()
            await asyncio.wait_for(release.wait(), 10)

    worker = worker_for(app, settings, transport, held)
    worker.start()
    await asyncio.wait_for(entered.wait(), 10)
    if overlaps(worker.dispatcher):
        await asyncio.wait_for(transport.second.wait(), 10)
    stopping = asyncio.create_task(worker.stop())
    await asyncio.sleep(0.1)
    still_writing = not stopping.done()
    release.set()
    await asyncio.wait_for(stopping, 10)

    assert still_writing
    handed = transport.handed()
    assert len(handed) == (2 * BATCH if overlaps(worker.dispatcher) else BATCH)
    final = await rows(app, ids)
    assert {final[i]["status"] for i in handed} == {"sent"}
    untouched = [final[i] for i in ids if i not in handed]
    assert {(r["status"], r["lease_owner"], r["attempts"]) for r in untouched} == {
        ("queued", None, 0)
    }
    types = await event_types(app, ids)
    assert {tuple(types[i]) for i in handed} == {("queued", "sent")}
