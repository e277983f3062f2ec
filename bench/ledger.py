"""What the ledger costs a debit: the old bare conditional UPDATE against `ledger.debit`
(UPDATE … RETURNING plus the entry's INSERT), each debit its own transaction as a send's is,
interleaved in rounds in one process so a busy machine slows both alike.

    .venv/bin/python -P bench/ledger.py [--debits 2000] [--rounds 5]
        [--pg-url postgresql+asyncpg://postgres@127.0.0.1/postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from dovecote.accounts import service
from dovecote.billing import ledger
from dovecote.storage.db import create_engine
from dovecote.storage.migrate import upgrade
from dovecote.storage.tables import accounts


async def bare_debit(engine: AsyncEngine, account_id: int) -> None:
    """The debit before the ledger: one conditional UPDATE."""
    async with engine.begin() as conn:
        await conn.execute(
            accounts.update()
            .where(accounts.c.id == account_id, accounts.c.balance_micros >= 1)
            .values(balance_micros=accounts.c.balance_micros - 1)
        )


async def ledger_debit(engine: AsyncEngine, account_id: int) -> None:
    async with engine.begin() as conn:
        await ledger.debit(conn, account_id, 1, reference="sms: 1 message")


async def run(url: str, debits: int, rounds: int) -> None:
    engine = create_engine(url)
    await upgrade(engine)
    async with engine.begin() as conn:
        made = await service.create_account(conn, username="bench", balance_micros=10**12)
    account_id = made.account.id
    timings: dict[str, list[float]] = {"bare UPDATE": [], "ledger debit": []}
    for _ in range(rounds):
        for name, debit in (("bare UPDATE", bare_debit), ("ledger debit", ledger_debit)):
            started = time.perf_counter()
            for _ in range(debits):
                await debit(engine, account_id)
            timings[name].append((time.perf_counter() - started) / debits * 1e6)
    await engine.dispose()
    backend = url.split("+", 1)[0]
    bare, booked = (statistics.median(timings[n]) for n in ("bare UPDATE", "ledger debit"))
    print(
        f"{backend}: bare UPDATE {bare:.0f} µs/debit, ledger debit {booked:.0f} µs/debit "
        f"(+{booked - bare:.0f} µs, medians of {rounds} rounds of {debits})"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--debits", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--pg-url", default="postgresql+asyncpg://postgres@127.0.0.1/postgres")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        await run(f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}", args.debits, args.rounds)
    name = f"bench_ledger_{uuid.uuid4().hex[:8]}"
    admin = create_async_engine(args.pg_url, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        await run(args.pg_url.rsplit("/", 1)[0] + "/" + name, args.debits, args.rounds)
    finally:
        async with admin.connect() as conn:
            await conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.dispose()


if __name__ == "__main__":
    asyncio.run(main())
