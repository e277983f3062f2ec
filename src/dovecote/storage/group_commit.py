"""Group commit: concurrent writes share one transaction, each answered after its commit.

A single send costs a handful of statements and one commit. Run one request at a time on
SQLite's one connection and every other request waits through all of those round trips
(and on PostgreSQL, through the account's balance-row lock held until commit). Here one
writer task takes everything queued since its last commit, runs each unit of work in
that one transaction, commits once, and only then answers each caller:

- each unit runs inside a SAVEPOINT (when the batch has company), so one that raises
  (bad input found midway, say) is rolled back alone and its caller gets its own error,
  while the others in the batch go on;
- a unit's result is handed back only after the commit that carries it succeeded: if the
  commit fails, every caller in the batch gets `CommitFailed` and nothing of the batch
  is in the database — nothing answered a success is uncommitted;
- units run one after another, so a check-then-debit inside a unit sees every earlier
  unit's debit: the charge stays exact under concurrency;
- a unit may name the row it will lock (`key`, an account): `lock_first` locks every key
  of the batch in one statement, in key order, before any unit runs. Units arriving in any
  order would otherwise lock their accounts in arrival order, and a batch holding account 6
  while waiting for 5 deadlocks with a transfer holding 5 and waiting for 6 (PostgreSQL
  aborts one of them; the ledger storm test met it). Everything else that locks two
  accounts (`billing.ledger.transfer`) locks them in id order too. It may also read, for
  all the keys at once, what every unit would otherwise read for its own key (single
  sends: the balances and the opt-out lists, `channels.sms.audience.begin_batch`), into
  the batch's shared reads (`storage.deferred`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from dovecote.core.errors import DomainError
from dovecote.storage import deferred

T = TypeVar("T")
Work = Callable[[AsyncConnection], Awaitable[T]]
LockFirst = Callable[[AsyncConnection, list[int]], Awaitable[None]]

log = logging.getLogger("dovecote.group_commit")


class CommitFailed(DomainError):
    """The transaction carrying this request did not commit: nothing of it was kept.

    A 500 (ClickSend's clients know no 503): the server failed, the caller may retry."""

    status = 500
    code = "INTERNAL_SERVER_ERROR"


@dataclass(slots=True)
class _Pending:
    work: Work[Any]
    future: asyncio.Future[Any]
    savepoint: bool = True
    key: int | None = None


class GroupCommit:
    """One writer task per process; `run(work)` queues a unit and awaits its commit."""

    def __init__(
        self, engine: AsyncEngine, *, max_batch: int = 256, lock_first: LockFirst | None = None
    ) -> None:
        self._engine = engine
        self._max_batch = max_batch  # bounds one transaction's length (and its lock time)
        self._lock_first = lock_first
        self._queue: deque[_Pending] = deque()
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        # Counted for benchmarks and tests: units per commit is what this buys.
        self.commits = 0
        self.units = 0

    @property
    def pending(self) -> int:
        """Units waiting for the next transaction (not the one being committed)."""
        return len(self._queue)

    async def run(self, work: Work[T], *, savepoint: bool = True, key: int | None = None) -> T:
        """Run `work` in the next batch's transaction and answer after its commit.

        `key` names the row `work` will lock (its account): with `lock_first`, the batch's
        keys are locked in order before its first unit runs.

        `savepoint=False` is for work whose only immediate write marks `Deferred.wrote`
        (a debit) and defers the rest (`storage.deferred`): it runs without a SAVEPOINT and
        RELEASE of its own, and should it fail after that write, its whole batch fails
        instead of it alone (nothing of the batch is kept; every caller gets an error)."""
        if self._closed:
            raise CommitFailed("The server is shutting down; try again.")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._queue.append(_Pending(work, future, savepoint, key))
        self._wakeup.set()
        if self._task is None or self._task.done():
            self._task = loop.create_task(self._write_forever(), name="group-commit")
        # Shielded: a caller that goes away (client disconnect) must not cancel a unit
        # half-way through a transaction the others share.
        return await asyncio.shield(future)

    async def close(self) -> None:
        """Finish what is queued, then stop the writer."""
        if self._task is not None and not self._task.done():
            # Units commit in order: once this one is through, so is all queued before it.
            with contextlib.suppress(Exception):
                await self.run(_nothing)
        self._closed = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _write_forever(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._queue:
                size = min(len(self._queue), self._max_batch)
                batch = [self._queue.popleft() for _ in range(size)]
                await self._commit(batch)

    async def _commit(self, batch: list[_Pending]) -> None:
        results: list[tuple[_Pending, Any]] = []
        try:
            async with self._engine.connect() as conn:
                transaction = await conn.begin()
                try:
                    if conn.dialect.name == "sqlite":
                        # pysqlite begins a transaction only before DML, so the first
                        # unit's SAVEPOINT would open one itself and its RELEASE would
                        # commit that unit alone. An explicit BEGIN makes the batch one
                        # transaction; IMMEDIATE takes the write lock at once.
                        await conn.exec_driver_sql("BEGIN IMMEDIATE")
                    collected = deferred.attach(conn)
                    try:
                        await self._lock_keys(conn, batch, collected)
                        await self._run_units(conn, batch, results, collected)
                        await collected.flush(conn)
                    finally:
                        deferred.detach(conn)
                except BaseException:
                    await transaction.rollback()
                    raise
                try:
                    await transaction.commit()
                except BaseException:
                    # SQLite keeps the transaction open when COMMIT fails (a deferred
                    # constraint): a later commit on this pooled connection would keep
                    # what was just answered as failed. Closing the connection ends it.
                    await conn.invalidate()
                    raise
        except Exception as exc:
            if len(batch) == 1 and not results:
                _fail(batch[0], exc)  # the unit's own error, raised before any commit
            else:
                log.exception("group commit of %d units failed", len(batch))
        else:
            self.commits += 1
            self.units += len(results)
            for pending, result in results:
                if not pending.future.done():
                    pending.future.set_result(result)
        finally:
            # Whatever has no answer yet (commit failed, writer cancelled) gets an error.
            for pending in batch:
                _fail(pending, CommitFailed("The request could not be saved; try again."))

    async def _lock_keys(
        self, conn: AsyncConnection, batch: list[_Pending], collected: deferred.Deferred
    ) -> None:
        if conn.dialect.name == "sqlite":
            collected.everything_locked = True  # BEGIN IMMEDIATE: the one writer
        keys = sorted({pending.key for pending in batch if pending.key is not None})
        if self._lock_first is not None and keys:
            await self._lock_first(conn, keys)
            collected.locked = frozenset(keys)

    async def _run_units(
        self,
        conn: AsyncConnection,
        batch: list[_Pending],
        results: list[tuple[_Pending, Any]],
        collected: deferred.Deferred,
    ) -> None:
        if len(batch) == 1:
            # Alone in its transaction: an error rolls the whole of it back, so the
            # savepoint's two extra round trips buy nothing.
            results.append((batch[0], await batch[0].work(conn)))
            return
        for pending in batch:
            if not pending.savepoint:
                await self._run_unguarded(conn, pending, results, collected)
                continue
            mark = collected.mark()
            try:
                async with conn.begin_nested():
                    result = await pending.work(conn)
            except Exception as exc:
                collected.rewind(mark)  # its statements were rolled back
                _fail(pending, exc)
            else:
                results.append((pending, result))

    async def _run_unguarded(
        self,
        conn: AsyncConnection,
        pending: _Pending,
        results: list[tuple[_Pending, Any]],
        collected: deferred.Deferred,
    ) -> None:
        collected.wrote = False
        mark = collected.mark()
        try:
            result = await pending.work(conn)
        except DBAPIError:
            raise  # the transaction itself may be broken (PostgreSQL aborts it): all fail
        except Exception as exc:
            if collected.wrote:
                raise  # its debit cannot be taken back alone: the batch fails
            collected.rewind(mark)  # it wrote nothing yet
            _fail(pending, exc)
        else:
            results.append((pending, result))


async def _nothing(_conn: AsyncConnection) -> None:
    return None


def _fail(pending: _Pending, exc: BaseException) -> None:
    if not pending.future.done():
        pending.future.set_exception(exc)
