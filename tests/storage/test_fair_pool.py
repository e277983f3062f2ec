"""`storage.fair_pool`: a returned connection goes to the longest waiter."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from dovecote.storage.db import create_engine, create_read_engine
from dovecote.storage.fair_pool import FairAsyncQueuePool


async def test_a_task_that_returns_the_connection_and_asks_again_waits_its_turn(
    tmp_path: Path,
) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'one.db'}")  # one connection
    order: list[str] = []
    try:
        first = await engine.connect()

        async def waiter() -> None:
            async with engine.connect() as conn:
                await conn.execute(sa.text("SELECT 1"))
                order.append("waiter")

        waiting = asyncio.create_task(waiter())
        await asyncio.sleep(0.05)  # the waiter is in line
        await first.close()
        async with engine.connect():  # at once, without yielding in between
            order.append("returner")
        await waiting
        assert order == ["waiter", "returner"]
    finally:
        await engine.dispose()


async def test_the_sqlite_read_pool_hands_a_returned_connection_to_its_longest_waiter(
    tmp_path: Path,
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'read.db'}"
    engine = create_engine(url)
    reader = create_read_engine(url, engine)
    order: list[str] = []
    held = [await reader.connect() for _ in range(reader.pool.size())]  # type: ignore[attr-defined]
    try:

        async def waiter() -> None:
            async with reader.connect() as conn:
                await conn.execute(sa.text("SELECT 1"))
                order.append("waiter")

        waiting = asyncio.create_task(waiter())
        await asyncio.sleep(0.05)
        await held[0].close()
        async with reader.connect():  # at once: SQLAlchemy's own pool let this one in first
            order.append("returner")
        await waiting
        assert order == ["waiter", "returner"]
    finally:
        for conn in held[1:]:
            await conn.close()
        await reader.dispose()
        await engine.dispose()


async def test_a_waiter_that_times_out_leaves_the_line_and_the_connection_stays_usable(
    tmp_path: Path,
) -> None:
    engine = create_async_engine(
        f"sqlite+aiosqlite:///{tmp_path / 'one.db'}",
        poolclass=FairAsyncQueuePool,
        pool_size=1,
        max_overflow=0,
        pool_timeout=0.1,
    )
    try:
        held = await engine.connect()
        with pytest.raises(sa.exc.TimeoutError):
            await engine.connect()
        await held.close()
        async with engine.connect() as conn:  # handed to nobody: it was free again
            assert (await conn.execute(sa.text("SELECT 1"))).scalar_one() == 1
    finally:
        await engine.dispose()


async def test_a_cancelled_waiter_does_not_take_the_connection_with_it(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'one.db'}")
    try:
        held = await engine.connect()

        async def leave() -> None:
            async with engine.connect():
                pass

        leaving = asyncio.create_task(leave())
        await asyncio.sleep(0.05)
        leaving.cancel()
        await held.close()
        with pytest.raises(asyncio.CancelledError):
            await leaving
        async with asyncio.timeout(2), engine.connect() as conn:
            assert (await conn.execute(sa.text("SELECT 1"))).scalar_one() == 1
    finally:
        await engine.dispose()
