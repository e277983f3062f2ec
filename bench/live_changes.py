"""What publishing live changes costs on PostgreSQL (`pipeline/changes_pg.py`): events
recorded through `EventLog` with and without the NOTIFY sink, interleaved in rounds in
one process so a busy machine slows both alike, plus the commit → listener latency.

- one event per transaction (a single send's `queued`), one writer;
- the same with 8 concurrent writers (NOTIFY serialises notifying commits on a lock);
- 1,000 events per transaction (the dispatcher's outcome batch, a batched send);
- latency: commit to a `listen` queue in the same process, through PostgreSQL;
- and, for comparison, the alternative: the NOTIFY in a transaction of its own after
  the writer's commit.

    .venv/bin/python -P bench/live_changes.py [--transactions 2000] [--rounds 3]
        [--pg-url postgresql+asyncpg://postgres@127.0.0.1/postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid

from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from dovecote.pipeline.changes_pg import PostgresChanges
from dovecote.pipeline.events import Event, EventLog
from dovecote.storage.db import create_engine
from dovecote.storage.migrate import upgrade


def _events(count: int, kind: str = "sent") -> list[Event]:
    now = time.time()
    return [Event(str(uuid.uuid4()), 1, 1, "sms", kind, now) for _ in range(count)]


class AfterCommit:
    """The alternative evaluated: record without the sink, then NOTIFY the same changes
    in a transaction of its own once the first has committed."""

    def __init__(self, changes: PostgresChanges) -> None:
        self.changes = changes
        self.log = EventLog(())


async def _write(
    engine: AsyncEngine, log: EventLog | AfterCommit, transactions: int, size: int
) -> None:
    for _ in range(transactions):
        events = _events(size)
        if isinstance(log, AfterCommit):
            async with engine.begin() as conn:
                await log.log.record(conn, events)
            async with engine.begin() as conn:
                await log.changes.sink(conn, events)
            continue
        async with engine.begin() as conn:
            await log.record(conn, events)


async def _timed(
    engine: AsyncEngine, log: EventLog | AfterCommit, transactions: int, size: int, writers: int
) -> float:
    """Microseconds per event."""
    started = time.perf_counter()
    share = transactions // writers
    await asyncio.gather(*(_write(engine, log, share, size) for _ in range(writers)))
    return (time.perf_counter() - started) / (share * writers * size) * 1e6


async def _latency(engine: AsyncEngine, changes: PostgresChanges, samples: int) -> list[float]:
    log = EventLog((changes.sink,))
    seen: list[float] = []
    async with changes.listen(1) as queue:
        for _ in range(samples):
            async with engine.begin() as conn:
                await log.record(conn, _events(1))
            committed = time.perf_counter()
            await asyncio.wait_for(queue.get(), 10)
            seen.append((time.perf_counter() - committed) * 1e3)
    return seen


async def run(url: str, transactions: int, rounds: int) -> None:
    engine = create_engine(url)
    await upgrade(engine)
    changes = PostgresChanges(engine.url)
    logs: dict[str, EventLog | AfterCommit] = {
        "without": EventLog(()),
        "with NOTIFY": EventLog((changes.sink,)),
        "after commit": AfterCommit(changes),
    }
    cases = (("1 event/tx, 1 writer", 1, 1), ("1 event/tx, 8 writers", 1, 8))
    for label, size, writers in (*cases, ("1000 events/tx", 1000, 1)):
        count = transactions if size == 1 else max(4, transactions // 200)
        timings: dict[str, list[float]] = {name: [] for name in logs}
        for _ in range(rounds):
            for name, log in logs.items():
                timings[name].append(await _timed(engine, log, count, size, writers))
        bare, notified, after = (statistics.median(timings[name]) for name in logs)
        print(
            f"{label}: without {bare:.1f} µs/event, with NOTIFY {notified:.1f} µs/event "
            f"(+{notified - bare:.1f} µs), NOTIFY after commit {after:.1f} µs/event "
            f"(+{after - bare:.1f} µs), medians of {rounds} rounds"
        )
    latencies = sorted(await _latency(engine, changes, 500))
    print(
        f"commit → listener: p50 {statistics.median(latencies):.2f} ms, "
        f"p99 {latencies[int(len(latencies) * 0.99)]:.2f} ms ({len(latencies)} changes)"
    )
    await changes.close()
    await engine.dispose()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--transactions", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pg-url", default="postgresql+asyncpg://postgres@127.0.0.1/postgres")
    args = parser.parse_args()
    name = f"bench_changes_{uuid.uuid4().hex[:8]}"
    admin = create_async_engine(args.pg_url, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        await run(args.pg_url.rsplit("/", 1)[0] + "/" + name, args.transactions, args.rounds)
    finally:
        async with admin.connect() as conn:
            await conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.dispose()


if __name__ == "__main__":
    asyncio.run(main())
