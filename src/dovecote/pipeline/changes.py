"""Which messages changed, told to whoever listens in this process once it is committed.

The dashboard shows messages live: a new SMS, a receipt, an inbound reply appear without
a reload. Every change of a message passes through `EventLog.record` (queued, outcomes,
receipts, inbound, opens), so `Changes.sink` sits among the event sinks and notes which
messages each transaction touched. It must not tell anyone yet — a listener that reads
the row now would read it before the commit (or a rollback would have shown it a ghost).
So the note waits on the connection (`conn.info`, which belongs to the pooled database
connection) and is handed out when the pool gets that connection back: by then the
transaction has committed or rolled back. A rolled-back note is harmless: a listener
re-reads the rows and finds nothing new.

This hub is in-process: it is what SQLite uses (one process by construction). On
PostgreSQL, where a `dovecote worker` or `serve --workers N` changes rows in other
processes, `changes_pg.PostgresChanges` carries the same notes through LISTEN/NOTIFY
behind this same interface (`changes_pg.for_engine` picks one). A listener that falls behind by
more than `QUEUE_SIZE` changes loses the oldest, never blocks the writer. A listener
that receives a `RESYNC` change may have missed some: it re-reads what it shows.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from dovecote.pipeline.events import Event

QUEUE_SIZE = 1000
_PENDING = "dovecote.changes"
# The type of the change a listener gets when changes may have been lost on the way
# (PostgreSQL's listening connection was cut and is back): re-read, do not patch.
RESYNC = "resync"


@dataclass(frozen=True, slots=True)
class Change:
    account_id: int
    message_id: str
    channel: str
    type: str  # the event's type: queued, sent, receipt, inbound, open, …


class Changes:
    """The in-process hub: sinks note changes, listeners get them after commit."""

    def __init__(self) -> None:
        self._listeners: dict[
            int, set[tuple[asyncio.AbstractEventLoop, asyncio.Queue[Change]]]
        ] = {}

    def attach(self, engine: AsyncEngine) -> None:
        sa.event.listen(engine.sync_engine.pool, "checkin", self._on_checkin)

    async def sink(self, conn: AsyncConnection, events: Sequence[Event]) -> None:
        """An `EventSink`: note, on the transaction's connection, what changed."""
        if not self._listeners:
            return  # nobody is watching: nothing to keep
        pending: list[Change] = conn.info.setdefault(_PENDING, [])
        pending.extend(
            Change(event.account_id, event.message_id, event.channel, event.type)
            for event in events
        )

    def _on_checkin(self, _dbapi_connection: Any, record: Any) -> None:
        pending: list[Change] | None = record.info.pop(_PENDING, None) if record else None
        if pending:
            self.publish(pending)

    async def close(self) -> None:
        """Let go of what the hub holds (nothing in-process)."""

    async def _listening(self) -> None:
        """Return once changes committed from now on will reach a new listener (at
        once in-process; a transport that must connect first waits for it)."""

    def resync(self) -> None:
        """Tell every listener that changes may have been lost: each gets one `RESYNC`."""
        for account_id, listeners in tuple(self._listeners.items()):
            for loop, queue in tuple(listeners):
                loop.call_soon_threadsafe(_offer, queue, Change(account_id, "", "", RESYNC))

    def publish(self, changes: Sequence[Change]) -> None:
        for change in changes:
            for loop, queue in tuple(self._listeners.get(change.account_id, ())):
                loop.call_soon_threadsafe(_offer, queue, change)

    @asynccontextmanager
    async def listen(self, account_id: int) -> AsyncIterator[asyncio.Queue[Change]]:
        """A queue of the committed changes of one account's messages, while open."""
        queue: asyncio.Queue[Change] = asyncio.Queue(QUEUE_SIZE)
        entry = (asyncio.get_running_loop(), queue)
        self._listeners.setdefault(account_id, set()).add(entry)
        try:
            await self._listening()
            yield queue
        finally:
            listeners = self._listeners.get(account_id, set())
            listeners.discard(entry)
            if not listeners:
                self._listeners.pop(account_id, None)


def _offer(queue: asyncio.Queue[Change], change: Change) -> None:
    if queue.full():
        queue.get_nowait()  # drop the oldest: a slow page must never stall a writer
    queue.put_nowait(change)
