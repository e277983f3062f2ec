"""`storage.sqlite_driver`: aiosqlite with one thread hand-off per statement (the read
pool), or none (the writer: `create_engine`)."""

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

from dovecote.storage import sqlite_driver
from dovecote.storage.db import create_engine, create_read_engine


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


async def test_a_cursor_hands_out_each_row_once_in_order_however_fetched(tmp_path: Path) -> None:
    connection = sqlite_driver.connect(str(tmp_path / "one.db"))
    await connection  # opens it (aiosqlite's thread)
    try:
        async with connection.cursor() as cursor:
            await cursor.execute(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 "
                "FROM n WHERE i < 7) SELECT i FROM n"
            )
            assert await cursor.fetchone() == (1,)
            assert await cursor.fetchmany(2) == [(2,), (3,)]
            assert await cursor.fetchone() == (4,)
            assert await cursor.fetchall() == [(5,), (6,), (7,)]
            assert await cursor.fetchone() is None and await cursor.fetchall() == []
            await cursor.execute("SELECT 8")  # a new statement starts from its first row
            assert await cursor.fetchmany(5) == [(8,)] and await cursor.fetchone() is None
    finally:
        await connection.close()


def count_hand_offs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The name of each function aiosqlite runs in a connection's thread, from now on."""
    hand_offs: list[str] = []
    original = aiosqlite.Connection._execute  # every hand-off of aiosqlite goes through it

    async def counted(self: aiosqlite.Connection, fn: Any, *args: Any, **kwargs: Any) -> Any:
        hand_offs.append(getattr(fn, "__name__", "?"))
        return await original(self, fn, *args, **kwargs)  # type: ignore[no-untyped-call]

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
    return hand_offs


async def test_the_read_pool_runs_its_statements_without_a_hand_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'one.db'}"
    engine = create_engine(url)
    reader = create_read_engine(url, engine)
    try:
        async with engine.begin() as conn:
            await conn.execute(sa.text("CREATE TABLE t (id INTEGER PRIMARY KEY)"))
        async with reader.connect() as conn:  # opened (and its pragmas set) before counting
            await conn.execute(sa.text("SELECT 1"))
        hand_offs = count_hand_offs(monkeypatch)
        async with reader.connect() as conn:
            for _ in range(5):
                await conn.execute(sa.text("SELECT count(*) FROM t"))
        # plain aiosqlite: 21 (cursor, execute, fetch, close each, and the pool's rollback);
        # one per statement before the read pool ran inline like the writer
        assert hand_offs == []
    finally:
        await reader.dispose()
        await engine.dispose()


async def test_the_writer_runs_its_statements_without_a_hand_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'one.db'}")
    try:
        async with engine.begin() as conn:
            await conn.execute(sa.text("CREATE TABLE t (id INTEGER PRIMARY KEY)"))
        hand_offs = count_hand_offs(monkeypatch)
        for _ in range(3):
            async with engine.begin() as conn:
                await conn.execute(sa.text("INSERT INTO t DEFAULT VALUES"))
                await conn.execute(sa.text("SELECT count(*) FROM t"))
        assert hand_offs == []
        async with engine.connect() as conn:
            assert (await conn.execute(sa.text("SELECT count(*) FROM t"))).scalar_one() == 3
    finally:
        await engine.dispose()


async def test_a_due_checkpoint_runs_beside_the_writer_which_goes_on_committing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started, release = threading.Event(), threading.Event()
    ran: list[str] = []

    def held_checkpoint(connect: Any) -> None:  # in its thread
        started.set()
        release.wait(10)
        ran.append("checkpoint")

    monkeypatch.setattr(sqlite_driver, "CHECKPOINT_EVERY", 3)
    monkeypatch.setattr(sqlite_driver, "_checkpoint", held_checkpoint)
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'one.db'}")
    try:
        async with engine.begin() as conn:
            await conn.execute(sa.text("CREATE TABLE t (id INTEGER PRIMARY KEY)"))
        for _ in range(5):  # the third commit is due: it and the next two do not wait
            async with engine.begin() as conn:
                await conn.execute(sa.text("INSERT INTO t DEFAULT VALUES"))
        assert started.is_set() and ran == []
        async with engine.connect() as conn:
            assert (await conn.execute(sa.text("SELECT count(*) FROM t"))).scalar_one() == 5
    finally:
        release.set()
        await engine.dispose()  # closing waits for the checkpoint in flight
    assert ran == ["checkpoint"]


async def test_a_checkpoint_copies_the_wal_into_the_database_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_driver, "CHECKPOINT_EVERY", 3)
    database = tmp_path / "one.db"
    engine = create_engine(f"sqlite+aiosqlite:///{database}")
    try:
        async with engine.begin() as conn:  # DDL: sqlite3 opens no transaction for it
            await conn.execute(sa.text("CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)"))
        for _ in range(3):  # the third commit: a checkpoint is due
            async with engine.begin() as conn:
                await conn.execute(sa.text("INSERT INTO t (v) VALUES (zeroblob(100000))"))
        # Automatic checkpoints are off: only ours moves the pages out of the WAL.
        for _ in range(500):
            if database.stat().st_size >= 300_000:
                break
            await asyncio.sleep(0.01)
        assert database.stat().st_size >= 300_000
    finally:
        await engine.dispose()


async def test_a_long_read_on_the_writer_moves_to_the_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A read past `INLINE_READ_SECONDS` is interrupted and run again in the thread, with
    the same answer; the event loop is not held for its length."""
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'one.db'}")
    # A SELECT-first spelling, so that the driver knows it for a read.
    slow = (
        "SELECT (SELECT sum(i) FROM (WITH RECURSIVE n(i) AS"
        " (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000000) SELECT i FROM n))"
    )
    try:
        async with engine.connect() as conn:
            await conn.execute(sa.text("SELECT 1"))
        hand_offs = count_hand_offs(monkeypatch)
        async with engine.connect() as conn:
            started = time.monotonic()
            total = (await conn.execute(sa.text(slow))).scalar_one()
            took = time.monotonic() - started
        assert total == 3000000 * 3000001 // 2
        assert hand_offs == ["_waiting"]
        assert took > sqlite_driver.INLINE_READ_SECONDS  # it did run long
    finally:
        await engine.dispose()


async def test_waiting_for_another_writer_does_not_stall_the_event_loop(tmp_path: Path) -> None:
    """The writer's busy timeout is spent in the connection's thread: the loop runs on."""
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
