"""aiosqlite with one thread hand-off per statement instead of four, or none.

aiosqlite runs every sqlite3 call in the connection's own thread and hands each one over
through a queue: SQLAlchemy's adapter makes four per statement (create a cursor,
execute, fetch the rows, close the cursor). A hand-off is two context switches and a
GIL transfer — ~0.1 ms on a quiet machine and several times that on a busy one, where
each waits its turn in the OS run queue (a single send's eleven statements made ~40 of
them: `bench/README.md`, issue 17). Here the statement and the fetch of its rows go to
the thread together, and creating or closing a cursor (no I/O, no lock) runs on the
caller's side, so a statement is one hand-off.

The writer connection (`inline=True`) goes further and runs its statements on the event
loop itself: the one connection every write waits for is then held only for the CPU
the transaction needs. What must not stall the loop still goes to the thread:

- waiting for the write lock another process holds: inline statements run with no busy
  timeout, and one that finds the database busy runs again in the thread with the full
  timeout (a statement answered SQLITE_BUSY changed nothing);
- a long read: an inline SELECT is interrupted after `INLINE_READ_SECONDS` and runs
  again in the thread (an interrupted SELECT changes nothing; writes are never
  interrupted, since SQLite would roll back their whole transaction);
- WAL checkpoints (they write and sync the database file): automatic checkpoints are off
  on this connection, and every `CHECKPOINT_EVERY` commits a PASSIVE one runs on a
  connection of its own in a thread, while the writer goes on committing (WAL lets it
  append during a checkpoint). Awaited by the commit that was due, it held that commit
  and every request queued behind it for 60-90 ms every few seconds under load: most of
  single sends' p99 (`bench/README.md`, session 8).

The cursors are used from the event loop's thread and the connection's, one at a time
(SQLAlchemy serializes the statements of a connection), which `check_same_thread=False`
permits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import time
from collections.abc import Callable, Iterable
from typing import Any

import aiosqlite

log = logging.getLogger("dovecote.sqlite")

INLINE_READ_SECONDS = 0.02
CHECKPOINT_EVERY = 500
# How often (in SQLite VM instructions) an inline read looks at the clock: ~50 µs apart.
_PROGRESS_STEPS = 10_000
_SQLITE_BUSY = 5
_SQLITE_INTERRUPT = 9


class OneHopCursor:
    """The part of `aiosqlite.Cursor` SQLAlchemy's adapter uses, rows fetched with the
    statement (the adapter fetches them all at once anyway: it streams none)."""

    def __init__(self, connection: OneHopConnection, cursor: sqlite3.Cursor) -> None:
        self._connection = connection
        self._cursor = cursor
        self._rows: list[Any] = []
        self._next = 0  # the next row to hand out: fetchone is O(1), no list shifting

    def _run(self, sql: str, parameters: Any) -> list[Any]:  # in the connection's thread
        self._cursor.execute(sql, parameters)
        return self._cursor.fetchall() if self._cursor.description else []

    async def execute(self, sql: str, parameters: Any = None) -> OneHopCursor:
        read = sql.lstrip()[:6].upper() == "SELECT"
        self._rows = await self._connection.run(self._run, sql, parameters or (), read=read)
        self._next = 0
        return self

    async def executemany(self, sql: str, parameters: Iterable[Any]) -> OneHopCursor:
        await self._connection.run(self._cursor.executemany, sql, parameters)
        self._rows, self._next = [], 0
        return self

    async def fetchall(self) -> list[Any]:
        rows = self._rows[self._next :] if self._next else self._rows
        self._rows, self._next = [], 0
        return rows

    async def fetchone(self) -> Any:
        if self._next >= len(self._rows):
            return None
        self._next += 1
        return self._rows[self._next - 1]

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        count = self._cursor.arraysize if size is None else size
        rows = self._rows[self._next : self._next + count]
        self._next += len(rows)
        return rows

    async def close(self) -> None:
        self._cursor.close()  # resets its statement: no I/O, no lock

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value


class _OpenCursor:
    """What `connection.cursor()` returns: SQLAlchemy enters it (`__aenter__`)."""

    def __init__(self, connection: OneHopConnection) -> None:
        self._connection = connection

    async def __aenter__(self) -> OneHopCursor:
        return OneHopCursor(self._connection, self._connection._conn.cursor())

    async def __aexit__(self, *exc: object) -> None:
        return None


class OneHopConnection(aiosqlite.Connection):
    def __init__(
        self,
        connector: Callable[[], sqlite3.Connection],
        *,
        inline: bool,
        busy_ms: int,
        checkpointer: Callable[[], sqlite3.Connection] | None = None,
    ) -> None:
        super().__init__(connector, iter_chunk_size=64)
        self.inline = inline
        self.busy_ms = busy_ms
        self._read_deadline: float | None = None
        self._commits = 0
        self._checkpointer = checkpointer  # opens the connection a checkpoint runs on
        self._checkpointing: asyncio.Future[None] | None = None

    async def in_thread(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run `fn(*args)` in the connection's thread (aiosqlite's one hand-off)."""
        return await self._execute(fn, *args)  # type: ignore[no-untyped-call]

    async def run(self, fn: Callable[..., Any], *args: Any, read: bool = False) -> Any:
        """Run `fn(*args)` inline when this connection is, else (or when that would wait)
        in the thread."""
        if not self.inline:
            return await self.in_thread(fn, *args)
        if read:
            self._read_deadline = time.monotonic() + INLINE_READ_SECONDS
        try:
            return fn(*args)
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode & 0xFF not in (_SQLITE_BUSY, _SQLITE_INTERRUPT):
                raise
        finally:
            self._read_deadline = None
        return await self.in_thread(self._waiting, fn, *args)

    def _waiting(self, fn: Callable[..., Any], *args: Any) -> Any:  # in the thread
        self._conn.execute(f"PRAGMA busy_timeout={self.busy_ms}")
        try:
            return fn(*args)
        finally:
            self._conn.execute("PRAGMA busy_timeout=0")

    def _checkpoint_aside(self) -> None:
        """Start a checkpoint unless one is still running (the next is due in
        `CHECKPOINT_EVERY` commits anyway)."""
        if self._checkpointer is None:
            return
        if self._checkpointing is not None and not self._checkpointing.done():
            return
        self._checkpointing = asyncio.ensure_future(
            asyncio.to_thread(_checkpoint, self._checkpointer)
        )
        self._checkpointing.add_done_callback(_log_failure)

    async def close(self) -> None:
        if self._checkpointing is not None:
            with contextlib.suppress(Exception):  # logged by `_log_failure`
                await self._checkpointing
        await super().close()

    def _over_time(self) -> int:  # SQLite's progress handler: non-zero interrupts
        deadline = self._read_deadline
        return int(deadline is not None and time.monotonic() > deadline)

    def cursor(self) -> _OpenCursor:  # type: ignore[override]
        return _OpenCursor(self)

    # The pool rolls back every connection it takes back; after reads alone no
    # transaction is open (sqlite3 begins one before the first write), so there is
    # nothing to hand over.
    async def commit(self) -> None:
        if self._conn.in_transaction:
            await self.run(self._conn.commit)
            if self.inline:
                self._commits += 1
                if self._commits % CHECKPOINT_EVERY == 0:
                    self._checkpoint_aside()
        await self._yield()

    async def rollback(self) -> None:
        if self._conn.in_transaction:
            await self.run(self._conn.rollback)
        await self._yield()

    async def _yield(self) -> None:
        # Inline statements never give the event loop a turn; a task running transaction
        # after transaction (a worker's batches, a job's clean-up) would starve every
        # other task of the process. A transaction's end is where they get their turn.
        if self.inline:
            await asyncio.sleep(0)


def connect(
    database: str, *args: Any, dovecote_inline: bool = False, **kwargs: Any
) -> OneHopConnection:
    """`aiosqlite.connect` for SQLAlchemy's `async_creator_fn` connect argument."""
    if args:
        raise TypeError(f"unexpected positional connect arguments: {args!r}")
    kwargs["check_same_thread"] = False  # see the module's docstring
    busy_ms = int(float(kwargs.get("timeout", 5.0)) * 1000)
    if dovecote_inline:
        kwargs["timeout"] = 0  # inline statements never wait; see `OneHopConnection.run`

    def connector() -> sqlite3.Connection:  # in the thread, when the connection opens
        sqlite: sqlite3.Connection = sqlite3.connect(database, **kwargs)
        if dovecote_inline:
            sqlite.execute("PRAGMA wal_autocheckpoint=0")
            sqlite.set_progress_handler(connection._over_time, _PROGRESS_STEPS)
        return sqlite

    def checkpointer() -> sqlite3.Connection:  # in a thread of its own, per checkpoint
        checkpoint: sqlite3.Connection = sqlite3.connect(
            database, **{**kwargs, "check_same_thread": True}
        )
        return checkpoint

    connection = OneHopConnection(
        connector,
        inline=dovecote_inline,
        busy_ms=busy_ms,
        checkpointer=checkpointer if dovecote_inline else None,
    )
    return connection


def _checkpoint(connect: Callable[[], sqlite3.Connection]) -> None:
    """A PASSIVE checkpoint: copies what no reader still needs from the WAL into the
    database file and syncs it, waiting for no lock."""
    conn = connect()
    try:
        # Read to the end: a statement left stepping would keep its read open.
        conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
    finally:
        conn.close()


def _log_failure(done: asyncio.Future[None]) -> None:
    if not done.cancelled() and done.exception() is not None:
        log.warning("WAL checkpoint failed; the next one is tried later", exc_info=done.exception())


def connect_args(*, inline: bool = False, **extra: Any) -> dict[str, Any]:
    """`connect_args` for `create_async_engine` on a SQLite URL; `inline` for the one
    writer connection (see the module's docstring)."""
    creator: Callable[..., OneHopConnection] = connect
    return {"async_creator_fn": creator, "dovecote_inline": inline, **extra}
