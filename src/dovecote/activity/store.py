"""Reads and retention deletes of the Email Activity view (`email_activity`, its side
tables, and the email rows of the event log).

Every read is bounded by a `Window`: one account, optionally one user of it, and the
start of the account's history window. Rows outside it do not exist for the caller.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from dovecote.activity.query.fields import EVENT_NAMES
from dovecote.storage.tables import accounts, email_activity, events
from dovecote.storage.tables import email_activity_args as args
from dovecote.storage.tables import email_activity_categories as categories

ea = email_activity
EMAIL = "email"

SUMMARY_COLUMNS = (
    ea.c.message_id,
    ea.c.from_email,
    ea.c.subject,
    ea.c.to_email,
    ea.c.status,
    ea.c.opens_count,
    ea.c.clicks_count,
    ea.c.last_event_time,
)


@dataclass(frozen=True, slots=True)
class Window:
    """Whose messages, and since when: the account, a user (subaccounts), the window start."""

    account_id: int
    user_id: int | None
    since: float


def visible(window: Window) -> list[sa.ColumnElement[bool]]:
    conditions = [ea.c.account_id == window.account_id, ea.c.last_event_time >= window.since]
    if window.user_id is not None:
        conditions.append(ea.c.user_id == window.user_id)
    return conditions


def _newest_first(query: sa.Select[Any]) -> sa.Select[Any]:
    # message_id breaks ties so that equal times still give one stable order.
    return query.order_by(ea.c.last_event_time.desc(), ea.c.message_id.desc())


async def search(
    conn: AsyncConnection, window: Window, condition: sa.ColumnElement[bool] | None, limit: int
) -> list[RowMapping]:
    query = sa.select(*SUMMARY_COLUMNS).where(*visible(window))
    if condition is not None:
        query = query.where(condition)
    return list((await conn.execute(_newest_first(query).limit(limit))).mappings())


async def stream_messages(
    conn: AsyncConnection,
    window: Window,
    condition: sa.ColumnElement[bool] | None,
    *,
    chunk: int = 1000,
) -> AsyncIterator[Sequence[RowMapping]]:
    """Every matching message, newest first, `chunk` rows at a time (keyset pages, so
    memory stays flat however many match)."""
    after: tuple[float, str] | None = None
    while True:
        query = sa.select(ea).where(*visible(window))
        if condition is not None:
            query = query.where(condition)
        if after is not None:
            time, message_id = after
            query = query.where(
                sa.or_(
                    ea.c.last_event_time < time,
                    sa.and_(ea.c.last_event_time == time, ea.c.message_id < message_id),
                )
            )
        rows = list((await conn.execute(_newest_first(query).limit(chunk))).mappings())
        if not rows:
            return
        yield rows
        after = (rows[-1]["last_event_time"], rows[-1]["message_id"])


async def get(conn: AsyncConnection, window: Window, message_id: str) -> RowMapping | None:
    query = sa.select(ea).where(*visible(window), ea.c.message_id == message_id)
    return (await conn.execute(query)).mappings().first()


async def message_events(
    conn: AsyncConnection, window: Window, message_ids: Sequence[str]
) -> list[RowMapping]:
    """The Email Activity events of these messages inside the window, oldest first."""
    query = (
        sa.select(events.c.message_id, events.c.type, events.c.occurred_at, events.c.data)
        .where(
            events.c.message_id.in_(message_ids),
            events.c.account_id == window.account_id,
            events.c.channel == EMAIL,
            events.c.type.in_(list(EVENT_NAMES)),
            events.c.occurred_at >= window.since,
        )
        .order_by(events.c.message_id, events.c.occurred_at, events.c.id)
    )
    return list((await conn.execute(query)).mappings())


# --- retention -----------------------------------------------------------------------


async def account_settings(conn: AsyncConnection) -> list[tuple[int, dict[str, Any]]]:
    rows = await conn.execute(sa.select(accounts.c.id, accounts.c.settings))
    return [(int(row.id), dict(row.settings or {})) for row in rows]


async def purge_messages(conn: AsyncConnection, account_id: int, before: float, limit: int) -> int:
    """Delete up to `limit` of the account's messages whose last event is before `before`."""
    batch = (
        sa.select(ea.c.message_id)
        .where(ea.c.account_id == account_id, ea.c.last_event_time < before)
        .limit(limit)
        .scalar_subquery()
    )
    # The time condition is repeated so that a message updated by a new event between
    # the SELECT and the DELETE survives.
    deleted = await conn.execute(
        ea.delete()
        .where(ea.c.message_id.in_(batch), ea.c.last_event_time < before)
        .returning(ea.c.message_id)
    )
    ids = list(deleted.scalars())
    if ids:
        await conn.execute(categories.delete().where(categories.c.message_id.in_(ids)))
        await conn.execute(args.delete().where(args.c.message_id.in_(ids)))
    return len(ids)


async def purge_events(conn: AsyncConnection, account_id: int, before: float, limit: int) -> int:
    """Delete up to `limit` of the account's email events older than `before`."""
    batch = (
        sa.select(events.c.id)
        .where(
            events.c.account_id == account_id,
            events.c.channel == EMAIL,
            events.c.occurred_at < before,
        )
        .limit(limit)
        .scalar_subquery()
    )
    result = await conn.execute(events.delete().where(events.c.id.in_(batch)))
    return int(result.rowcount)
