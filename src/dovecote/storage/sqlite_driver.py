"""aiosqlite with one thread hand-off per statement instead of four.

aiosqlite runs every sqlite3 call in the connection's own thread and hands each one over
through a queue: SQLAlchemy's adapter makes four per statement (create a cursor,
execute, fetch the rows, close the cursor). A hand-off is two context switches and a
GIL transfer — ~0.1 ms on a quiet machine and several times that on a busy one (a
single send's eleven statements made ~40 of them: `bench/README.md`, issue 17). Here the
statement and the fetch of its rows go to the thread together, and creating or closing a
cursor (no I/O, no lock) runs on the caller's side, so a statement is one hand-off.

The thread stays: a statement may wait for the write lock another process holds (the
busy timeout) or scan a large table, and neither may stall the event loop. The cursors
are used from the event loop's thread and the connection's, one at a time (SQLAlchemy
serializes the statements of a connection), which `check_same_thread=False` permits.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable
from typing import Any

import aiosqlite


class OneHopCursor:
    """The part of `aiosqlite.Cursor` SQLAlchemy's adapter uses, rows fetched with the
    statement (the adapter fetches them all at once anyway: it streams none)."""

    def __init__(self, connection: OneHopConnection, cursor: sqlite3.Cursor) -> None:
        self._connection = connection
        self._cursor = cursor
        self._rows: list[Any] = []

    def _run(self, sql: str, parameters: Any) -> list[Any]:  # in the connection's thread
        self._cursor.execute(sql, parameters)
        return self._cursor.fetchall() if self._cursor.description else []

    async def execute(self, sql: str, parameters: Any = None) -> OneHopCursor:
        self._rows = await self._connection.in_thread(self._run, sql, parameters or ())
        return self

    async def executemany(self, sql: str, parameters: Iterable[Any]) -> OneHopCursor:
        await self._connection.in_thread(self._cursor.executemany, sql, parameters)
        self._rows = []
        return self

    async def fetchall(self) -> list[Any]:
        rows, self._rows = self._rows, []
        return rows

    async def fetchone(self) -> Any:
        return self._rows.pop(0) if self._rows else None

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        count = self._cursor.arraysize if size is None else size
        rows, self._rows = self._rows[:count], self._rows[count:]
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

    def __await__(self) -> Any:
        return self.__aenter__().__await__()


class OneHopConnection(aiosqlite.Connection):
    async def in_thread(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run `fn(*args)` in the connection's thread (aiosqlite's one hand-off)."""
        return await self._execute(fn, *args)  # type: ignore[no-untyped-call]

    def cursor(self) -> _OpenCursor:  # type: ignore[override]
        return _OpenCursor(self)

    # The pool rolls back every connection it takes back; after reads alone no
    # transaction is open (sqlite3 begins one before the first write), so there is
    # nothing to hand over.
    async def commit(self) -> None:
        if self._conn.in_transaction:
            await super().commit()

    async def rollback(self) -> None:
        if self._conn.in_transaction:
            await super().rollback()


def connect(database: str, *args: Any, **kwargs: Any) -> OneHopConnection:
    """`aiosqlite.connect` for SQLAlchemy's `async_creator_fn` connect argument."""
    if args:
        raise TypeError(f"unexpected positional connect arguments: {args!r}")
    kwargs["check_same_thread"] = False  # see the module's docstring

    def connector() -> sqlite3.Connection:
        connection: sqlite3.Connection = sqlite3.connect(database, **kwargs)
        return connection

    return OneHopConnection(connector, iter_chunk_size=64)


def connect_args(**extra: Any) -> dict[str, Any]:
    """`connect_args` for `create_async_engine` on a SQLite URL."""
    creator: Callable[..., OneHopConnection] = connect
    return {"async_creator_fn": creator, **extra}
