"""Changes across processes on PostgreSQL: NOTIFY at commit, one LISTEN connection per
process, a real `dovecote worker` process whose deliveries the API process hears, and a
listening connection that is cut and comes back."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI

from conftest import OWNER, OWNER_KEY
from dovecote.app import create_app
from dovecote.pipeline import changes_pg
from dovecote.pipeline.changes import RESYNC, Change, Changes
from dovecote.pipeline.changes_pg import PAYLOAD_BYTES, PostgresChanges, decode, encode
from dovecote.pipeline.events import Event
from dovecote.runtime import Runtime
from dovecote.settings import Settings
from dovecote.storage.db import create_engine
from dovecote.storage.tables import accounts
from worker_support import pg_database_url, start_worker, stop

__all__ = ["pg_database_url"]  # a fixture, used by name


def _event(message_id: str, account_id: int = 1, kind: str = "queued") -> Event:
    return Event(message_id, account_id, 1, "sms", kind, time.time())


async def _next(queue: asyncio.Queue[Change], wanted: str, message_id: str = "") -> Change:
    """The first change of type `wanted` (of `message_id` when given); others are passed."""
    while True:
        change = await asyncio.wait_for(queue.get(), 20)
        if change.type == wanted and (not message_id or change.message_id == message_id):
            return change


@pytest.fixture
async def pg_app(pg_database_url: str, tmp_path: Path) -> AsyncIterator[FastAPI]:
    """The API process: the app on a PostgreSQL database of its own, no worker."""
    settings = Settings(
        database_url=pg_database_url,
        files_dir=str(tmp_path / "files"),
        owner_username=OWNER,
        owner_api_key=OWNER_KEY,
        owner_balance="100.00",
        worker_enabled=False,
        rate_limit="10000/second",
    )
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


def test_changes_are_packed_into_payloads_postgresql_accepts() -> None:
    changes = [Change(7, f"{n:036d}", "sms", "sent") for n in range(1000)]

    payloads = encode(changes)

    assert all(len(payload.encode()) < PAYLOAD_BYTES for payload in payloads)
    assert 5 <= len(payloads) <= 12  # about a hundred changes each, not one per change
    assert [change for payload in payloads for change in decode(payload)] == changes


def test_sqlite_keeps_the_in_process_hub(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'one.db'}")
    assert type(changes_pg.for_engine(engine)) is Changes


async def test_a_notification_is_sent_at_commit_and_never_for_a_rollback(pg_app: FastAPI) -> None:
    runtime: Runtime = pg_app.state.runtime
    assert isinstance(runtime.changes, PostgresChanges)
    async with runtime.changes.listen(1) as queue:
        with pytest.raises(RuntimeError):
            async with runtime.engine.begin() as conn:
                await runtime.events.record(conn, [_event("GHOST")])
                raise RuntimeError("rolled back")
        async with runtime.engine.begin() as conn:
            await runtime.events.record(conn, [_event("A1"), _event("A2", kind="sent")])
            await asyncio.sleep(0.1)
            assert queue.empty()  # written, not committed: PostgreSQL holds it back
        first = await asyncio.wait_for(queue.get(), 10)
        second = await asyncio.wait_for(queue.get(), 10)

    assert [(c.message_id, c.type) for c in (first, second)] == [("A1", "queued"), ("A2", "sent")]
    assert queue.empty()  # the rolled-back GHOST was never told


async def test_nobody_listening_nothing_is_sent_and_a_new_listener_waits_for_that_commit(
    pg_app: FastAPI,
) -> None:
    runtime: Runtime = pg_app.state.runtime
    dsn = runtime.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    spy = await asyncpg.connect(dsn)  # hears the channel, but is no Dovecote listener
    heard: list[str] = []
    await spy.add_listener(changes_pg.CHANNEL, lambda *args: heard.append(args[-1]))
    page = PostgresChanges(runtime.engine.url)  # another process's hub
    opened = asyncio.Event()

    async def open_page() -> Change:
        async with page.listen(1) as queue:
            opened.set()
            return await _next(queue, "sent", "S1")

    try:
        async with runtime.engine.begin() as conn:
            await runtime.events.record(conn, [_event("Q1")])
            opening = asyncio.create_task(open_page())
            await asyncio.sleep(1.0)
            # What it would read now misses Q1: it may not be ready before Q1 commits.
            assert not opened.is_set()
        await asyncio.wait_for(opened.wait(), 10)
        async with runtime.engine.begin() as conn:
            await runtime.events.record(conn, [_event("S1", kind="sent")])
        change = await asyncio.wait_for(opening, 20)
    finally:
        await page.close()
        await spy.close()

    assert change.message_id == "S1"
    assert not any("Q1" in payload for payload in heard)  # nobody listened: not sent


async def test_a_process_holds_one_listening_connection_for_all_its_listeners(
    pg_app: FastAPI,
) -> None:
    runtime: Runtime = pg_app.state.runtime
    async with runtime.changes.listen(1), runtime.changes.listen(1), runtime.changes.listen(2):
        assert await _listening_backends(runtime) == 1


async def _listening_backends(runtime: Runtime) -> int:
    async with runtime.engine.connect() as conn:
        count = await conn.scalar(
            sa.text(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE application_name = :name AND datname = current_database()"
            ),
            {"name": changes_pg.APPLICATION_NAME},
        )
    return int(count or 0)


async def test_a_killed_listening_connection_comes_back_resyncs_and_hears_the_next_change(
    pg_app: FastAPI,
) -> None:
    runtime: Runtime = pg_app.state.runtime
    changes = runtime.changes
    assert isinstance(changes, PostgresChanges)
    async with changes.listen(1) as queue:
        async with runtime.engine.begin() as conn:
            killed = await conn.scalar(
                sa.text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE application_name = :name AND datname = current_database()"
                ),
                {"name": changes_pg.APPLICATION_NAME},
            )
        assert killed == 1

        # Back within the backoff: every listener is told to re-read what it shows.
        resync = await asyncio.wait_for(queue.get(), 20)
        assert (resync.type, resync.account_id) == (RESYNC, 1)
        assert changes.connections == 2
        async with runtime.engine.begin() as conn:
            await runtime.events.record(conn, [_event("AFTER")])
        change = await _next(queue, "queued", "AFTER")

    assert change.account_id == 1


async def test_a_worker_process_delivery_is_heard_by_the_api_process(
    pg_app: FastAPI, pg_database_url: str, tmp_path: Path
) -> None:
    runtime: Runtime = pg_app.state.runtime
    async with runtime.engine.connect() as conn:
        owner = int(
            await conn.scalar(sa.select(accounts.c.id).order_by(accounts.c.id).limit(1)) or 0
        )
    transport = httpx.ASGITransport(app=pg_app)
    worker = None
    async with (
        runtime.changes.listen(owner) as queue,
        httpx.AsyncClient(
            transport=transport, base_url="http://testserver", auth=(OWNER, OWNER_KEY)
        ) as client,
    ):
        response = await client.post(
            "/v3/sms/send",
            json={"messages": [{"to": "+12025550123", "body": "across", "source": "test"}]},
        )
        assert response.status_code == 200, response.text
        message_id = response.json()["data"]["messages"][0]["message_id"]
        await _next(queue, "queued", message_id)  # this process's own write

        worker = start_worker(pg_database_url, tmp_path / "worker.log")
        try:
            sent = await _next(queue, "sent", message_id)
            receipt = await _next(queue, "receipt", message_id)
        finally:
            await asyncio.to_thread(stop, [worker])

    assert (sent.account_id, sent.channel) == (owner, "sms")
    assert receipt.account_id == owner
