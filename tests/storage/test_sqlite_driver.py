"""`storage.sqlite_driver`: aiosqlite with one thread hand-off per statement."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
import sqlalchemy as sa

from dovecote.storage.db import create_engine


async def test_rows_counts_and_ids_come_back_as_from_plain_aiosqlite(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'one.db'}")
    try:
        async with engine.begin() as conn:
            await conn.execute(sa.text("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)"))
            inserted = await conn.execute(sa.text("INSERT INTO t (v) VALUES ('a')"))
            assert inserted.lastrowid == 1
            await conn.execute(sa.text("INSERT INTO t (v) VALUES (:v)"), [{"v": "b"}, {"v": "c"}])
            updated = await conn.execute(sa.text("UPDATE t SET v = upper(v) WHERE id > 1"))
            assert updated.rowcount == 2
            returned = await conn.execute(sa.text("DELETE FROM t WHERE id = 3 RETURNING v"))
            assert returned.scalars().all() == ["C"]
        async with engine.connect() as conn:
            rows = (await conn.execute(sa.text("SELECT id, v FROM t ORDER BY id"))).all()
            assert [tuple(r) for r in rows] == [(1, "a"), (2, "B")]
            assert (await conn.execute(sa.text("SELECT v FROM t WHERE id = 9"))).first() is None
    finally:
        await engine.dispose()


async def test_a_statement_is_one_hand_off_to_the_connection_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'one.db'}")
    hand_offs: list[str] = []
    original = aiosqlite.Connection._execute  # every hand-off of aiosqlite goes through it

    async def counted(self: aiosqlite.Connection, fn: Any, *args: Any, **kwargs: Any) -> Any:
        hand_offs.append(getattr(fn, "__name__", "?"))
        return await original(self, fn, *args, **kwargs)  # type: ignore[no-untyped-call]

    try:
        async with engine.begin() as conn:
            await conn.execute(sa.text("CREATE TABLE t (id INTEGER PRIMARY KEY)"))
        monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
        async with engine.connect() as conn:
            for _ in range(5):
                await conn.execute(sa.text("SELECT count(*) FROM t"))
        # plain aiosqlite: 21 (cursor, execute, fetch, close each, and the pool's rollback)
        assert hand_offs == ["_run"] * 5
        async with engine.begin() as conn:
            await conn.execute(sa.text("INSERT INTO t DEFAULT VALUES"))
        assert hand_offs == ["_run"] * 6 + ["commit"]
    finally:
        await engine.dispose()


async def test_waiting_for_another_writer_does_not_stall_the_event_loop(tmp_path: Path) -> None:
    """The busy timeout is spent in the connection's thread: the loop keeps running."""
    path = tmp_path / "one.db"
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    try:
        async with engine.begin() as conn:
            await conn.execute(sa.text("CREATE TABLE t (id INTEGER PRIMARY KEY)"))
        other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        other.execute("BEGIN IMMEDIATE")  # another process's write lock, as far as we know
        release = threading.Timer(0.5, other.execute, args=("COMMIT",))
        ticks = 0

        async def tick() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        ticker = asyncio.create_task(tick())
        started = time.monotonic()
        release.start()
        async with engine.begin() as conn:
            await conn.execute(sa.text("INSERT INTO t DEFAULT VALUES"))
        waited = time.monotonic() - started
        ticker.cancel()
        release.join()
        other.close()
        assert waited >= 0.45
        assert ticks >= 10  # the loop ran while the insert waited for the lock
    finally:
        await engine.dispose()
