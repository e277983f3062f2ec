"""The queue under real `dovecote worker` processes: several at once deliver every message
exactly once, and a worker killed with SIGKILL mid-batch loses nothing.

PostgreSQL: 4 workers and 20,000 messages (claims use FOR UPDATE SKIP LOCKED). SQLite: 2
workers and 2,000 messages (one writer at a time; WAL lets the others read). The sandbox
transport has no side channel, so "delivered once" is read from the event log: exactly one
`sent` event (and one receipt) per message, none missing, none doubled.
"""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from conftest import CHEAP_HASHING
from dovecote import bootstrap, wiring
from dovecote.accounts import service as account_service
from dovecote.pipeline import outbound
from dovecote.pipeline.outbound import Outbound
from dovecote.settings import Settings
from dovecote.storage.tables import events, messages
from worker_support import (
    pg_database_url,
    query,
    sqlite_database_url,
    start_worker,
    stop,
    wait_until,
)

__all__ = ["pg_database_url", "sqlite_database_url"]  # fixtures, used by name

OWNER, OWNER_KEY = "owner", "0C0FFEE0-1234-4ABC-8DEF-000000000001"
# A worker whose transport never returns: its batch stays claimed until it is killed.
STALLED_WORKER = """
import asyncio, sys
from dovecote.pipeline.transports import sandbox

async def stall(self, jobs):
    print(f"holding {len(jobs)}", flush=True)
    await asyncio.sleep(3600)

sandbox.SandboxTransport.send = stall
from dovecote.cli import app
app(["worker"])
"""


def seed(database_url: str, count: int) -> list[str]:
    """Create the owner and queue `count` immediate SMS through the domain's accept."""

    async def run() -> list[str]:
        settings = Settings(
            database_url=database_url,
            owner_username=OWNER,
            owner_api_key=OWNER_KEY,
            worker_enabled=False,
            **CHEAP_HASHING,
        )
        runtime = wiring.build_runtime(settings)
        try:
            await bootstrap.prepare(runtime)
            async with runtime.engine.connect() as conn:
                principal = await account_service.authenticate_basic(conn, OWNER, OWNER_KEY)
            ids: list[str] = []
            for start in range(0, count, 1000):
                items = [
                    Outbound(
                        channel="sms",
                        recipient=f"+1202{n:07d}",
                        body=f"Load {n}",
                        country="US",
                    )
                    for n in range(start, min(start + 1000, count))
                ]
                async with runtime.engine.begin() as conn:
                    await outbound.accept(
                        conn, principal, items, now=time.time(), throttle_window=0, events=None
                    )
                ids.extend(str(item.id) for item in items)
            return ids
        finally:
            await runtime.close()

    return asyncio.run(run())


def delivered_count() -> sa.Executable:
    return sa.select(sa.func.count()).select_from(messages).where(messages.c.status == "delivered")


def events_per_message(database_url: str, kind: str) -> dict[str, int]:
    statement = (
        sa.select(events.c.message_id, sa.func.count())
        .where(events.c.type == kind)
        .group_by(events.c.message_id)
    )
    return {str(message_id): int(str(n)) for message_id, n in query(database_url, statement)}


def assert_each_delivered_exactly_once(database_url: str, ids: list[str]) -> None:
    statuses = query(
        database_url,
        sa.select(messages.c.status, sa.func.count()).group_by(messages.c.status),
    )
    assert dict((str(s), int(str(n))) for s, n in statuses) == {"delivered": len(ids)}
    sent = events_per_message(database_url, "sent")
    receipts = events_per_message(database_url, "receipt")
    assert set(sent) == set(ids), "a message was never sent"
    assert {n for n in sent.values()} == {1}, "a message was sent twice"
    assert set(receipts) == set(ids)
    assert {n for n in receipts.values()} == {1}
    [(leased,)] = query(
        database_url,
        sa.select(sa.func.count()).select_from(messages).where(messages.c.lease_owner.is_not(None)),
    )
    assert leased == 0


def run_concurrent_workers(
    database_url: str, tmp_path: Path, *, workers: int, count: int, min_active: int = 0
) -> None:
    started = time.monotonic()
    ids = seed(database_url, count)
    seeded = time.monotonic()
    running = [
        start_worker(database_url, tmp_path / f"worker-{n}.log", worker_batch_size=500)
        for n in range(workers)
    ]
    owners: set[str] = set()
    try:
        elapsed = wait_until(database_url, delivered_count(), count, running, 75, owners)
    finally:
        stop(running)
    assert_each_delivered_exactly_once(database_url, ids)
    # Owners are "host:pid:random": every lease seen belonged to one of our workers.
    pids = {int(owner.split(":")[-2]) for owner in owners}
    assert pids <= {w.process.pid for w in running}
    for worker in running:
        # A worker that did work stops gracefully on SIGTERM. One still starting up when
        # the queue ran dry (it happens on SQLite under load) has no handler installed yet.
        allowed = {0} if worker.process.pid in pids else {0, -signal.SIGTERM}
        assert worker.process.returncode in allowed, worker.output()
    if min_active:
        assert len(pids) >= min_active, f"only workers {pids} were seen holding leases"
    print(
        f"\n{workers} workers, {count} messages: seeded in {seeded - started:.1f} s, "
        f"delivered in {elapsed:.1f} s ({count / elapsed:,.0f} messages/s)"
    )


def test_four_worker_processes_on_postgresql_deliver_20000_messages_exactly_once(
    pg_database_url: str, tmp_path: Path
) -> None:
    # SKIP LOCKED is only exercised if workers really overlap: require seeing several.
    run_concurrent_workers(pg_database_url, tmp_path, workers=4, count=20_000, min_active=2)


def test_two_worker_processes_on_sqlite_deliver_2000_messages_exactly_once(
    sqlite_database_url: str, tmp_path: Path
) -> None:
    run_concurrent_workers(sqlite_database_url, tmp_path, workers=2, count=2_000)


@pytest.mark.parametrize("backend", ["postgresql", "sqlite"])
def test_a_worker_killed_mid_batch_loses_nothing(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    database_url = str(
        request.getfixturevalue(f"{'pg' if backend == 'postgresql' else 'sqlite'}_database_url")
    )
    ids = seed(database_url, 1_000)
    batch = 300
    leased_rows = (
        sa.select(sa.func.count()).select_from(messages).where(messages.c.lease_owner.is_not(None))
    )

    doomed = start_worker(
        database_url,
        tmp_path / "doomed.log",
        script=STALLED_WORKER,
        worker_batch_size=batch,
        worker_lease_seconds=2,
    )
    try:
        wait_until(database_url, leased_rows, batch, [doomed], timeout=30)
    finally:
        doomed.process.send_signal(signal.SIGKILL)
        doomed.process.wait(timeout=10)
    assert doomed.process.returncode == -signal.SIGKILL
    held = query(
        database_url,
        sa.select(messages.c.id, messages.c.status, messages.c.lease_owner).where(
            messages.c.lease_owner.is_not(None)
        ),
    )
    assert len(held) == batch
    assert {str(status) for _, status, _ in held} == {"queued"}
    assert len({owner for _, _, owner in held}) == 1
    assert f":{doomed.process.pid}:" in str(held[0][2])

    survivor = start_worker(database_url, tmp_path / "survivor.log", worker_batch_size=500)
    try:
        wait_until(database_url, delivered_count(), len(ids), [survivor], timeout=45)
    finally:
        stop([survivor])

    assert_each_delivered_exactly_once(database_url, ids)
    killed_batch = [str(message_id) for message_id, _, _ in held]
    rows = query(
        database_url,
        sa.select(messages.c.id, messages.c.attempts).where(messages.c.id.in_(killed_batch)),
    )
    attempts = {message_id: count for message_id, count in rows}
    # The killed worker never reported, so its batch was sent once, by the survivor.
    assert set(attempts.values()) == {1}
