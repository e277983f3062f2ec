"""Aggregates over outbound messages for usage reports."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from dovecote.storage.tables import SYSTEM_SOURCE, messages, users


async def usage_by_user(
    conn: AsyncConnection, account_id: int, start: int, end: int
) -> Sequence[dict[str, Any]]:
    """Per channel and user: message parts (ClickSend counts SMS by part) and total price."""
    query = (
        sa.select(
            messages.c.channel,
            messages.c.user_id,
            users.c.username,
            users.c.notes,
            sa.func.sum(messages.c.parts).label("count"),
            sa.func.sum(messages.c.price_micros).label("price"),
        )
        .join(users, users.c.id == messages.c.user_id, isouter=True)
        .where(
            messages.c.account_id == account_id,
            messages.c.direction == "out",
            messages.c.created_at >= start,
            messages.c.created_at < end,
            messages.c.status != "cancelled",
            messages.c.source.is_distinct_from(SYSTEM_SOURCE),  # the platform's, not theirs
        )
        .group_by(messages.c.channel, messages.c.user_id, users.c.username, users.c.notes)
        .order_by(messages.c.user_id)
    )
    return [dict(row) for row in (await conn.execute(query)).mappings()]
