"""Event sinks: code that reacts to events in the same transaction that writes them.

The dispatcher (and anything else appending to the event log) calls every sink with the
rows it wrote. A sink keeps a derived view current — Email Activity's per-message summary,
later webhooks and statistics — without the writers knowing about it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

EventSink = Callable[[AsyncConnection, Sequence[dict[str, Any]]], Awaitable[None]]


def build_sinks() -> list[EventSink]:
    """Every sink, in the order they run. Register new ones here."""
    from dovecote.activity.sink import email_activity_sink

    return [email_activity_sink]


async def publish(
    conn: AsyncConnection, sinks: Sequence[EventSink], rows: Sequence[dict[str, Any]]
) -> None:
    if rows:
        for sink in sinks:
            await sink(conn, rows)
