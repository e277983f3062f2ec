"""Reads of the event log: delivery receipts of any channel and their read flags.

Receipts are `events` rows of type `receipt`; `read_at` is the one column that changes.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from dovecote.pipeline.scope import Scope, visible
from dovecote.storage.listing import Fields, ListQuery, Page, paginate
from dovecote.storage.tables import events

RECEIPT = "receipt"

RECEIPT_FIELDS = Fields(
    columns={"message_id": events.c.message_id, "timestamp": events.c.occurred_at},
)


def _receipts(scope: Scope, channel: str) -> list[sa.ColumnElement[bool]]:
    # Matches the (account_id, channel, type, occurred_at) index.
    return [*visible(events, scope), events.c.channel == channel, events.c.type == RECEIPT]


async def list_unread_receipts(
    conn: AsyncConnection, scope: Scope, channel: str, params: ListQuery
) -> Page:
    query = sa.select(events).where(*_receipts(scope, channel), events.c.read_at.is_(None))
    # Oldest first, as in the spec's example: a poller works through them in order.
    return await paginate(conn, query, params, RECEIPT_FIELDS, [events.c.occurred_at, events.c.id])


async def latest_receipt(
    conn: AsyncConnection, scope: Scope, channel: str, message_id: str
) -> sa.RowMapping | None:
    query = (
        sa.select(events)
        .where(*_receipts(scope, channel), events.c.message_id == message_id)
        .order_by(events.c.occurred_at.desc(), events.c.id.desc())
        .limit(1)
    )
    row: sa.RowMapping | None = (await conn.execute(query)).mappings().first()
    return row


async def mark_receipts_read(
    conn: AsyncConnection, scope: Scope, channel: str, before: float | None, now: int
) -> int:
    query = (
        events.update()
        .where(*_receipts(scope, channel), events.c.read_at.is_(None))
        .values(read_at=now)
    )
    if before is not None:
        query = query.where(events.c.occurred_at < before)
    return int((await conn.execute(query)).rowcount)
