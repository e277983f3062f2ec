"""Email Activity query latency on a large activity table, SQLite and PostgreSQL.

Builds N `email_activity` rows with 5 events each (bulk loaded: SQLite through the
synchronous driver in one transaction, PostgreSQL with COPY into a throwaway database),
runs ANALYZE, then times the domain query function (`dovecote.activity.search.search`,
limit 10) and prints p50/p95 per query shape. Figures go to bench/README.md.

    .venv/bin/python bench/activity_query.py [--messages 1000000] [--runs 40]
        [--backend sqlite,postgresql] [--pg-url postgresql+asyncpg://postgres@127.0.0.1/postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sqlite3
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.sqlite import dialect as sqlite_dialect
from sqlalchemy.ext.asyncio import create_async_engine

from dovecote.accounts import service as accounts
from dovecote.activity import search as activity
from dovecote.core.models import Principal
from dovecote.settings import Settings
from dovecote.storage import tables
from dovecote.storage.db import create_engine
from dovecote.storage.migrate import upgrade

KEY = "BE7C4BE7-0000-4000-8000-00000000AC71"
CHUNK = 50_000
SENDERS = [f"sender{i}@shop.test" for i in range(20)]
RECIPIENTS = 200_000  # each address gets N / 200,000 messages
SUBJECTS = 100_000  # "Order #n has shipped": a rare LIKE matches ~N / 100,000 rows
WINDOW = 2 * 86_400 * 0.98  # spread over the default two-day window, all visible
EVENTS = {
    "delivered": ["processed", "delivered", "open", "open", "click"],
    "processed": ["processed", "deferred", "deferred", "deferred", "deferred"],
    "not_delivered": ["processed", "deferred", "deferred", "deferred", "bounce"],
}
ACTIVITY_COLUMNS = [
    "message_id", "account_id", "user_id", "from_email", "to_email", "subject", "status",
    "template_id", "api_key_id", "categories", "unique_args", "opens_count", "clicks_count",
    "last_event_time", "created_at",
]  # fmt: skip
EVENT_COLUMNS = ["message_id", "account_id", "user_id", "channel", "type", "occurred_at", "data"]


def message_id(i: int) -> str:
    return str(uuid.UUID(int=i * 2654435761 % (1 << 122) | (7 << 76))).upper()


def status_of(i: int) -> str:
    r = (i * 7919) % 100
    return "delivered" if r < 80 else "processed" if r < 95 else "not_delivered"


def rows(
    n: int, now: float, account_id: int, user_id: int
) -> Iterator[tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]]:
    rng = random.Random(42)
    activity_rows: list[tuple[Any, ...]] = []
    event_rows: list[tuple[Any, ...]] = []
    for i in range(n):
        status = status_of(i)
        last = now - rng.random() * WINDOW
        kinds = EVENTS[status]
        times = [last - (len(kinds) - 1 - k) * 60.0 for k in range(len(kinds))]
        mid = message_id(i)
        activity_rows.append(
            (
                mid, account_id, user_id, SENDERS[i % len(SENDERS)],
                f"user{i % RECIPIENTS}@example.com", f"Order #{i % SUBJECTS} has shipped",
                status, None, None, "[]", "{}", kinds.count("open"), kinds.count("click"),
                last, times[0],
            )
        )  # fmt: skip
        event_rows.extend(
            (mid, account_id, user_id, "email", kind, at, "{}")
            for kind, at in zip(kinds, times, strict=True)
        )
        if len(activity_rows) >= CHUNK:
            yield activity_rows, event_rows
            activity_rows, event_rows = [], []
    if activity_rows:
        yield activity_rows, event_rows


def load_sqlite(path: Path, n: int, now: float, account_id: int, user_id: int) -> None:
    db = sqlite3.connect(path)
    db.execute("PRAGMA synchronous=OFF")
    # Message ids are random, so index inserts land all over the B-trees: a large page
    # cache (~1 GB) keeps the load from thrashing (1M messages took 8 min without it).
    db.execute("PRAGMA cache_size=-1000000")
    # SQLAlchemy writes the statements; the sync driver runs them (faster for bulk).
    insert_activity = str(
        tables.email_activity.insert().compile(
            dialect=sqlite_dialect(), column_keys=ACTIVITY_COLUMNS
        )
    )
    insert_events = str(
        tables.events.insert().compile(dialect=sqlite_dialect(), column_keys=EVENT_COLUMNS)
    )
    with db:
        for activity_rows, event_rows in rows(n, now, account_id, user_id):
            db.executemany(insert_activity, activity_rows)
            db.executemany(insert_events, event_rows)
    db.execute("ANALYZE")
    db.close()


async def load_postgresql(url: str, n: int, now: float, account_id: int, user_id: int) -> None:
    engine = create_async_engine(url)
    async with engine.connect() as conn:
        raw = await conn.get_raw_connection()
        driver: Any = raw.driver_connection
        for activity_rows, event_rows in rows(n, now, account_id, user_id):
            await driver.copy_records_to_table(
                "email_activity", records=activity_rows, columns=ACTIVITY_COLUMNS
            )
            await driver.copy_records_to_table("events", records=event_rows, columns=EVENT_COLUMNS)
        await driver.execute("ANALYZE")
    await engine.dispose()


async def owner(url: str) -> Principal:
    engine = create_engine(url)
    await upgrade(engine)
    async with engine.begin() as conn:
        await accounts.create_account(conn, username="bench", api_key=KEY, login_password=False)
        principal = await accounts.authenticate_bearer(conn, KEY)
    await engine.dispose()
    return principal


def iso(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def shapes(n: int, now: float) -> dict[str, Callable[[random.Random], str]]:
    def time_range(rng: random.Random) -> str:
        start = now - rng.random() * WINDOW
        return (
            f'status="not_delivered" AND last_event_time BETWEEN '
            f'TIMESTAMP "{iso(start - 6 * 3600)}" AND TIMESTAMP "{iso(start)}"'
        )

    return {
        "to_email=": lambda r: f'to_email="user{r.randrange(min(n, RECIPIENTS))}@example.com"',
        "msg_id=": lambda r: f'msg_id="{message_id(r.randrange(n))}"',
        "status= + time range": time_range,
        "subject LIKE (rare)": lambda r: f'subject LIKE "%#{r.randrange(min(n, SUBJECTS))} has%"',
        "subject LIKE (common)": lambda r: 'subject LIKE "%shipped%"',
        'Contains(events, "bounced")': lambda r: 'Contains(events, "bounced")',
        "no query (newest 10)": lambda r: "",
    }


async def measure(url: str, principal: Principal, n: int, now: float, runs: int) -> list[str]:
    settings = Settings(database_url=url)
    engine = create_engine(url)
    lines = []
    rng = random.Random(7)
    async with engine.connect() as conn:
        for label, make in shapes(n, now).items():
            timings: list[float] = []
            for i in range(runs + 3):
                query = make(rng)
                started = time.perf_counter()
                await activity.search(conn, principal, settings, query=query, limit=10)
                if i >= 3:  # the first runs warm caches
                    timings.append((time.perf_counter() - started) * 1000)
            timings.sort()
            p95 = timings[max(0, round(len(timings) * 0.95) - 1)]
            lines.append(
                f"{label:30s} p50 {statistics.median(timings):8.2f} ms   p95 {p95:8.2f} ms"
            )
    await engine.dispose()
    return lines


async def run_backend(
    name: str, url: str, load: Callable[[Principal, float], Awaitable[None]], n: int, runs: int
) -> None:
    principal = await owner(url)
    now = time.time()
    started = time.perf_counter()
    await load(principal, now)
    print(
        f"[{name}] loaded {n:,} messages and {5 * n:,} events in {time.perf_counter() - started:.0f} s"
    )
    for line in await measure(url, principal, n, now, runs):
        print(f"[{name}] {line}")


async def admin(pg_url: str, sql: str) -> None:
    engine = create_async_engine(pg_url, isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        await conn.execute(sa.text(sql))
    await engine.dispose()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--backend", default="sqlite,postgresql")
    parser.add_argument(
        "--pg-url",
        default=os.environ.get(
            "DOVECOTE_TEST_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
        ),
        help="an admin URL; the benchmark creates and drops its own database",
    )
    args = parser.parse_args()
    n = args.messages
    backends = args.backend.split(",")
    if "sqlite" in backends:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "activity.db"

            async def load_lite(p: Principal, now: float) -> None:
                await asyncio.to_thread(load_sqlite, path, n, now, p.account.id, p.user.id)

            await run_backend("sqlite", f"sqlite+aiosqlite:///{path}", load_lite, n, args.runs)
    if "postgresql" in backends:
        name = f"dovecote_bench_{os.getpid()}"
        url = args.pg_url.rsplit("/", 1)[0] + "/" + name
        await admin(args.pg_url, f'CREATE DATABASE "{name}"')
        try:

            async def load_pg(p: Principal, now: float) -> None:
                await load_postgresql(url, n, now, p.account.id, p.user.id)

            await run_backend("postgresql", url, load_pg, n, args.runs)
        finally:
            await admin(args.pg_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    asyncio.run(main())
