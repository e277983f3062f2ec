"""The event log's one writer: `EventLog.record` appends events and runs every sink.

Events are append-only facts about messages (`sent`, `receipt`, `processed`, `open`, a
one-time code `approved`, …). Nothing else inserts into `events`: a sink — Email
Activity's summary today, webhooks and statistics later — sees every event because every
event passes through here, in the same transaction that writes it. The sinks come from
the wiring table (`dovecote.wiring.SINKS`); the pipeline never names them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from dovecote.storage import bulk, deferred
from dovecote.storage.tables import events as events_table


@dataclass(frozen=True, slots=True)
class Event:
    message_id: str
    account_id: int
    user_id: int
    channel: str
    type: str
    occurred_at: float
    data: dict[str, Any] = field(default_factory=dict)

    def row(self) -> dict[str, Any]:
        return {
            "message_id": self.message_id,
            "account_id": self.account_id,
            "user_id": self.user_id,
            "channel": self.channel,
            "type": self.type,
            "occurred_at": self.occurred_at,
            "data": self.data,
        }


# The `events` columns an Event fills, each from its attribute of the same name.
_COLUMNS = ("message_id", "account_id", "user_id", "channel", "type", "occurred_at", "data")

EventSink = Callable[[AsyncConnection, Sequence[Event]], Awaitable[None]]


class EventLog:
    """Appends events and hands them to every sink, in the caller's transaction: a sink's
    view can never disagree with the log, and a rollback undoes both."""

    def __init__(self, sinks: Sequence[EventSink] = ()) -> None:
        self.sinks = tuple(sinks)

    async def record(self, conn: AsyncConnection, events: Sequence[Event]) -> None:
        if not events:
            return
        batch = deferred.of(conn)
        if batch is not None:
            # In a group commit: recorded with the batch's other events, once, just
            # before its commit (storage/deferred.py) — one INSERT and one pass of each
            # sink for the whole batch.
            batch.gather(self, self._write, events)
            return
        await self._write(conn, events)

    async def _write(self, conn: AsyncConnection, events: Sequence[Event]) -> None:
        # One statement whatever the batch size; sinks batch their writes too.
        await bulk.insert_columns(conn, events_table, bulk.columns_of(events, _COLUMNS))
        for sink in self.sinks:
            await sink(conn, events)
