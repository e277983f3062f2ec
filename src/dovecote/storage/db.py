"""Engine creation for SQLite (the embedded default) and PostgreSQL."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from dovecote.storage import sqlite_driver
from dovecote.storage.fair_pool import FairAsyncQueuePool


def create_engine(url: str, *, pool_size: int = 10, max_overflow: int = 20) -> AsyncEngine:
    """The engine for `url`; `pool_size` and `max_overflow` size PostgreSQL's pool (SQLite
    keeps one connection, its single writer)."""
    if url.startswith("sqlite"):
        # One connection: SQLite has a single writer anyway, and a shared connection
        # avoids "database is locked" between our own coroutines. WAL lets readers
        # in other processes (the CLI, a second worker) proceed during writes.
        engine = create_async_engine(
            url,
            poolclass=FairAsyncQueuePool,  # first come, first served: see fair_pool.py
            pool_size=1,
            max_overflow=0,
            pool_timeout=60,
            # Its statements run on the event loop (see storage/sqlite_driver.py), which
            # also owns its busy timeout: 30 s, spent in the connection's thread.
            connect_args=sqlite_driver.connect_args(inline=True, timeout=30),
        )
        sa.event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    engine = create_async_engine(url, pool_size=pool_size, max_overflow=max_overflow)
    ping_when_idle(engine, after=PING_IDLE_AFTER)
    return engine


# A pooled PostgreSQL connection idle longer than this is pinged before use. Pinging on
# every checkout (`pool_pre_ping`) cost a round trip per request — 3 % of a single send's
# CPU in the API process, more in the database; a connection in steady use is known good.
# One that broke while busy (the database restarted) fails one statement, and SQLAlchemy
# then replaces every connection older than the failure.
PING_IDLE_AFTER = 5.0


def ping_when_idle(engine: AsyncEngine, *, after: float) -> None:
    """Ping a connection on checkout only when it sat in the pool longer than `after`
    seconds; a failed ping makes the pool open a fresh one (`DisconnectionError`)."""

    def checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    def checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since <= after:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:
            raise sa.exc.DisconnectionError(str(exc)) from exc

    sa.event.listen(engine.sync_engine, "checkin", checkin)
    sa.event.listen(engine.sync_engine, "checkout", checkout)


READ_CONNECTIONS = 32


def create_read_engine(url: str, engine: AsyncEngine) -> AsyncEngine:
    """Where requests read what they need before writing (the caller's credentials).

    On SQLite, a few connections of their own: WAL lets them read while the one writer
    connection is inside a transaction, so authenticating a request no longer waits for
    the group commit in progress. On PostgreSQL (pooled already) and for an in-memory
    SQLite database (which another connection would not see), the engine itself.
    """
    if not url.startswith("sqlite") or ":memory:" in url or "mode=memory" in url:
        return engine
    reader = create_async_engine(
        url,
        # First come, first served like the writer: with SQLAlchemy's own pool a request
        # arriving as a reader was returned took it ahead of the waiters, and a few of 32
        # concurrent senders waited 1-3 s for authentication (p99 0.9-1.3 s at p50 29 ms).
        poolclass=FairAsyncQueuePool,
        # As many as a busy server has requests authenticating at once. Fewer capped the
        # group commit's batches: statements run inline, so a batch runs without yielding
        # and each reader connection lets about one request through between two batches —
        # 4 connections, 4 sends per commit (0.89 ms of CPU per send in-process at 32
        # concurrent), 32 connections, 19 per commit (0.64 ms). Each costs a thread, idle
        # but for a read that has to wait, and a small page cache.
        pool_size=READ_CONNECTIONS,
        max_overflow=0,
        pool_timeout=60,
        # Inline like the writer (storage/sqlite_driver.py): a read costs no thread
        # hand-off (one per statement was ~0.1-0.4 ms under load); a read that would wait
        # (busy) or runs past 20 ms moves to the connection's thread.
        connect_args=sqlite_driver.connect_args(inline=True, timeout=30),
    )
    sa.event.listen(reader.sync_engine, "connect", _sqlite_reader_pragmas)
    return reader


def _sqlite_reader_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA query_only=ON")  # a write here would be a bug: refuse it
    cursor.close()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    # NORMAL is durable across application crashes in WAL mode; only an OS crash
    # can lose the last transactions, and it buys several times the commit rate.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


# Any constant will do; it names Dovecote's start-up among the database's advisory locks.
_STARTUP_LOCK = 0x646F7665  # "dove"


@asynccontextmanager
async def startup_lock(engine: AsyncEngine) -> AsyncIterator[None]:
    """Serialize start-up work (migrations, seeding the owner) across processes.

    Replicas started at the same moment on a fresh PostgreSQL would otherwise race to
    create Alembic's table and the owner, and the losers die. A session-level advisory
    lock on a connection of its own is held while the caller works on others. SQLite
    needs none: its database-wide write lock already serializes writers.
    """
    if engine.dialect.name != "postgresql":
        yield
        return
    async with engine.connect() as holder:
        await holder.execute(sa.text("SELECT pg_advisory_lock(:key)"), {"key": _STARTUP_LOCK})
        await holder.commit()
        try:
            yield
        finally:
            await holder.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": _STARTUP_LOCK})
            await holder.commit()
