"""Rows a group-commit transaction writes once for all its units, just before its commit.

A single send's own statements are few (its debit, an opt-out read), but what it records —
its ledger entry, its message row, its `queued` event and the statistics that event moves
— was one statement each, ~110 µs of SQLAlchemy apiece for one row. Inside a group commit
(`group_commit.py`) those rows are collected here instead and written as one multi-row
statement per table (and one call per event log) for the whole batch, in the order the
tables were first written (a parent table before the rows that refer to it).

The writers that can defer (`pipeline.queue.insert_messages`, `insert_payloads`,
`billing.ledger`'s entry, `pipeline.events.EventLog.record`) ask `of(conn)`; outside a
group commit it is None and they write at once, as before. Reads that must see rows of
earlier units in the same batch (the SMS throttle's duplicate check) look at `pending`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from dovecote.storage import bulk

_KEY = "dovecote.deferred"

Flush = Callable[[AsyncConnection, list[Any]], Awaitable[None]]
# How much was collected at a moment: rows per table, items per group.
Mark = tuple[dict[sa.Table, int], dict[object, int]]


class Deferred:
    def __init__(self) -> None:
        self._inserts: dict[sa.Table, list[dict[str, Any]]] = {}
        self._groups: dict[object, tuple[Flush | None, list[Any]]] = {}
        # Set by a write that could not wait (a debit): a unit that fails after it cannot
        # be taken back without a savepoint, so its whole batch must fail (group_commit).
        self.wrote = False
        # Rows this transaction holds locked from its start to its commit (the batch's
        # keys, on PostgreSQL; SQLite's write lock holds every row): what is read of them
        # stays true for the whole batch, so a read can be shared (`reads`) and changes
        # summed in memory and written once (`billing.ledger`).
        self.locked: frozenset[object] = frozenset()
        self.everything_locked = False
        # Reads shared by the batch's units; one of a row not locked argues its own case
        # (`contacts.store.has_opt_out_list`).
        self.reads: dict[object, Any] = {}

    def insert(self, table: sa.Table, rows: Sequence[dict[str, Any]]) -> None:
        self._inserts.setdefault(table, []).extend(rows)

    def pending(self, table: sa.Table) -> Sequence[dict[str, Any]]:
        return self._inserts.get(table, ())

    def gather(self, key: object, flush: Flush | None, items: Sequence[Any]) -> None:
        """`items` handed to `flush` together with every other unit's under the same key;
        with no `flush`, only kept for `gathered` (and rewound with the rest)."""
        entry = self._groups.setdefault(key, (flush, []))
        entry[1].extend(items)

    def holds(self, key: object) -> bool:
        return self.everything_locked or key in self.locked

    def gathered(self, key: object) -> Sequence[Any]:
        """What was gathered under `key` so far (and not rewound)."""
        entry = self._groups.get(key)
        return () if entry is None else entry[1]

    def mark(self) -> Mark:
        return (
            {table: len(rows) for table, rows in self._inserts.items()},
            {key: len(items) for key, (_, items) in self._groups.items()},
        )

    def rewind(self, mark: Mark) -> None:
        """Forget what was collected since `mark` (a unit that failed)."""
        inserts, groups = mark
        for table, rows in self._inserts.items():
            del rows[inserts.get(table, 0) :]
        for key, (_, items) in self._groups.items():
            del items[groups.get(key, 0) :]
        # A read may have seen the failed unit's own writes (a list it deleted): read again.
        self.reads.clear()

    async def flush(self, conn: AsyncConnection) -> None:
        inserts, groups = self._inserts, self._groups
        self._inserts, self._groups = {}, {}
        for table, rows in inserts.items():
            if rows:
                await bulk.insert_rows(conn, table, rows)
        for flush, items in groups.values():
            if flush is not None and items:
                await flush(conn, items)


def of(conn: AsyncConnection) -> Deferred | None:
    """The batch's collector, when `conn` carries a group commit; else None."""
    found: Deferred | None = conn.info.get(_KEY)
    return found


def attach(conn: AsyncConnection) -> Deferred:
    deferred = Deferred()
    conn.info[_KEY] = deferred
    return deferred


def detach(conn: AsyncConnection) -> None:
    # `info` lives as long as the pooled connection: the next borrower must not see it.
    conn.info.pop(_KEY, None)
