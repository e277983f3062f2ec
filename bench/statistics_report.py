"""Statistics read latency on a large rollup, SQLite and PostgreSQL.

An account with 10M SMS over three years is, in the rollups, one row per day and status
(~1,100 days × 6 statuses); other accounts' rows fill the table around it. The script
loads that (plus `--others` accounts of noise), then times `statistics.report.series`
— what `/v3/statistics/sms` and `/dovecote/statistics/{channel}` call — for the last 30
days and for the whole three years, and prints p50/p95. Figures go to bench/README.md.

    .venv/bin/python bench/statistics_report.py [--messages 10000000] [--others 100] [--runs 50]
        [--backend sqlite,postgresql] [--pg-url postgresql+asyncpg://postgres@127.0.0.1/postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from dovecote.statistics import report
from dovecote.statistics.store import DAY, day_of
from dovecote.storage.db import create_engine
from dovecote.storage.migrate import upgrade
from dovecote.storage.tables import statistics_daily

ACCOUNT = 1
DAYS = 3 * 365
# Share of each day's messages per status, as a healthy SMS account might see.
SHARES = {"delivered": 0.90, "failed": 0.04, "expired": 0.01, "sent": 0.03, "queued": 0.01}
CHUNK = 20_000


def rollup_rows(account_id: int, messages: int, today: int) -> list[dict[str, Any]]:
    per_day = messages // DAYS
    rows = []
    for n in range(DAYS):
        day = today - n * DAY
        for status, share in SHARES.items():
            count = int(per_day * share)
            rows.append(
                {
                    "account_id": account_id,
                    "channel": "sms",
                    "day": day,
                    "status": status,
                    "count": count,
                    "price_micros": count * 77_000,
                }
            )
        rows.append(
            {"account_id": account_id, "channel": "sms", "day": day, "status": "cancelled",
             "count": 3, "price_micros": 0}
        )  # fmt: skip
    return rows


async def load(engine: AsyncEngine, messages: int, others: int, today: int) -> int:
    await upgrade(engine)
    total = 0
    async with engine.begin() as conn:
        for account_id in range(ACCOUNT, ACCOUNT + others + 1):
            volume = messages if account_id == ACCOUNT else messages // 100
            rows = rollup_rows(account_id, volume, today)
            for start in range(0, len(rows), CHUNK):
                await conn.execute(statistics_daily.insert(), rows[start : start + CHUNK])
            total += len(rows)
        if engine.dialect.name == "postgresql":
            await conn.execute(sa.text("ANALYZE statistics_daily"))
        else:
            await conn.execute(sa.text("ANALYZE"))
    return total


async def timed(engine: AsyncEngine, start: int, end: int, runs: int) -> tuple[float, float, int]:
    samples = []
    counted = 0
    for _ in range(runs):
        began = time.perf_counter()
        async with engine.connect() as conn:
            series = await report.series(conn, ACCOUNT, "sms", start, end)
        samples.append((time.perf_counter() - began) * 1000)
        counted = sum(t.count for t in series.totals.values())
    samples.sort()
    return samples[len(samples) // 2], samples[int(len(samples) * 0.95) - 1], counted


async def bench(url: str, label: str, args: argparse.Namespace) -> None:
    engine = create_engine(url)
    today = day_of(time.time())
    try:
        began = time.perf_counter()
        rows = await load(engine, args.messages, args.others, today)
        print(f"{label}: loaded {rows:,} rollup rows in {time.perf_counter() - began:.1f} s")
        for name, days in (("last 30 days", 30), ("3 years", DAYS)):
            start, end = today - (days - 1) * DAY, today + DAY
            p50, p95, counted = await timed(engine, start, end, args.runs)
            print(f"{label}: {name}: p50 {p50:.2f} ms, p95 {p95:.2f} ms ({counted:,} messages)")
    finally:
        await engine.dispose()


async def main(args: argparse.Namespace) -> None:
    for backend in args.backend.split(","):
        if backend == "sqlite":
            with tempfile.TemporaryDirectory() as folder:
                await bench(f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}", "sqlite", args)
        else:
            name = f"dovecote_bench_{uuid.uuid4().hex[:8]}"
            admin = create_async_engine(args.pg_url, isolation_level="AUTOCOMMIT")
            async with admin.connect() as conn:
                await conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
            try:
                await bench(args.pg_url.rsplit("/", 1)[0] + "/" + name, "postgresql", args)
            finally:
                async with admin.connect() as conn:
                    await conn.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
                await admin.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=10_000_000)
    parser.add_argument("--others", type=int, default=100)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--backend", default="sqlite,postgresql")
    parser.add_argument("--pg-url", default="postgresql+asyncpg://postgres@127.0.0.1/postgres")
    asyncio.run(main(parser.parse_args()))
