"""Connector health shared by real `dovecote worker` processes on PostgreSQL: a connector
one worker put in cool-down is skipped by another worker that never saw it fail."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import sqlalchemy as sa

from conftest import CHEAP_HASHING
from dovecote import bootstrap, wiring
from dovecote.accounts import service as account_service
from dovecote.pipeline import outbound
from dovecote.pipeline.outbound import Outbound
from dovecote.pipeline.routing import store
from dovecote.settings import Settings
from dovecote.storage.tables import connector_health, messages
from routing_support import Failing, Served
from worker_support import (
    WorkerProcess,
    pg_database_url,
    query,
    start_worker,
    stop,
    wait_until,
)

__all__ = ["pg_database_url"]  # a fixture, used by name

OWNER, OWNER_KEY = "owner", "0C0FFEE0-1234-4ABC-8DEF-000000000001"


def worker(database_url: str, log: Path) -> WorkerProcess:
    """A `dovecote worker` that puts a connector down after 3 failures, for 10 minutes."""
    return start_worker(
        database_url,
        log,
        routing_failure_threshold=3,
        routing_cooldown_seconds=600,
        routing_refresh_seconds=0.1,
    )


def prepare(database_url: str, broken_url: str) -> None:
    """The owner, a `broken` HTTP upstream, a local sandbox connector, one route: both."""

    async def run() -> None:
        runtime = wiring.build_runtime(
            Settings(
                database_url=database_url,
                owner_username=OWNER,
                owner_api_key=OWNER_KEY,
                **CHEAP_HASHING,
            )
        )
        try:
            await bootstrap.prepare(runtime)
            seal = store.sealer(runtime.settings)
            async with runtime.engine.begin() as conn:
                await store.add_connector(
                    conn,
                    name="broken",
                    transport="http",
                    settings={"url": broken_url, "username": "u", "password": "p"},
                    seal=seal,
                )
                await store.add_connector(
                    conn, name="local", transport="sandbox", settings={}, seal=seal
                )
                await store.add_route(conn, connector_names=["broken", "local"], channel="sms")
        finally:
            await runtime.close()

    asyncio.run(run())


def send(database_url: str, recipient: str) -> None:
    async def run() -> None:
        runtime = wiring.build_runtime(Settings(database_url=database_url))
        try:
            async with runtime.engine.begin() as conn:
                principal = await account_service.authenticate_basic(conn, OWNER, OWNER_KEY)
                item = Outbound(channel="sms", recipient=recipient, body="hi", country="AU")
                await outbound.accept(
                    conn, principal, [item], now=time.time(), throttle_window=0, events=None
                )
        finally:
            await runtime.close()

    asyncio.run(run())


def sent_count() -> sa.Executable:
    return sa.select(sa.func.count()).select_from(messages).where(messages.c.status != "queued")


def test_a_connector_one_worker_put_down_is_skipped_by_another_worker(
    pg_database_url: str, tmp_path: Path
) -> None:
    failing = Failing(503)
    with Served(failing.app) as broken:
        prepare(pg_database_url, broken.url)
        first = worker(pg_database_url, tmp_path / "first.log")
        try:
            for n in range(3):  # one hand-over each: three failures, the threshold
                send(pg_database_url, f"+6141100000{n}")
                wait_until(pg_database_url, sent_count(), n + 1, [first], timeout=60)
        finally:
            stop([first])
        assert failing.requests == 3
        [(downs, down_until)] = query(
            pg_database_url,
            sa.select(connector_health.c.downs, connector_health.c.down_until).where(
                connector_health.c.connector == "broken"
            ),
        )
        assert downs == 1 and float(str(down_until)) > time.time() + 500

        # Another process, which has never seen `broken` fail: it skips it from the start.
        second = worker(pg_database_url, tmp_path / "second.log")
        try:
            for n in range(3, 8):
                send(pg_database_url, f"+6141100000{n}")
                wait_until(pg_database_url, sent_count(), n + 1, [second], timeout=60)
        finally:
            stop([second])

    assert failing.requests == 3  # not one more request to the connector in cool-down
    statuses = query(pg_database_url, sa.select(messages.c.status).distinct())
    assert {str(status) for (status,) in statuses} <= {"sent", "delivered"}
    [(handled,)] = query(
        pg_database_url,
        sa.select(connector_health.c.delivered + connector_health.c.sent).where(
            connector_health.c.connector == "local"
        ),
    )
    assert int(str(handled)) == 8  # both workers' counters, flushed as each stopped
