"""Reads of SMS inbound messages, plus the inbound write (it never queues).

Every query is bounded by a `Scope`: one account, and optionally one user of it (a
subaccount without `access_reporting` sees only what it sent or was sent).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from dovecote.pipeline.scope import Scope, visible
from dovecote.storage.listing import Fields, ListQuery, Page, paginate
from dovecote.storage.tables import messages, users

SMS = "sms"


# --- inbound -----------------------------------------------------------------------

_original = messages.alias("original")

INBOUND_FIELDS = Fields(
    columns={
        "message_id": messages.c.id,
        "original_message_id": messages.c.original_message_id,
        "from": messages.c.sender,
        "to": messages.c.recipient,
        "body": messages.c.body,
        "custom_string": messages.c.custom_string,
        "timestamp": messages.c.created_at,
    },
    text=frozenset({"from", "to", "body", "custom_string"}),
)


def inbound_select(scope: Scope) -> sa.Select[Any]:
    """Inbound rows with the body of the message they answer (ClickSend's `original_body`)."""
    replied = sa.and_(
        _original.c.id == messages.c.original_message_id,
        _original.c.account_id == messages.c.account_id,
    )
    return (
        sa.select(messages, _original.c.body.label("original_body"))
        .select_from(messages.outerjoin(_original, replied))
        .where(*visible(messages, scope), messages.c.channel == SMS, messages.c.direction == "in")
    )


async def list_unread_inbound(conn: AsyncConnection, scope: Scope, params: ListQuery) -> Page:
    query = inbound_select(scope).where(messages.c.read_at.is_(None))
    # Newest first, as in the spec's example.
    order = [messages.c.created_at.desc(), messages.c.id.desc()]
    return await paginate(conn, query, params, INBOUND_FIELDS, order)


async def get_inbound(conn: AsyncConnection, scope: Scope, message_id: str) -> sa.RowMapping | None:
    query = inbound_select(scope).where(messages.c.id == message_id)
    row: sa.RowMapping | None = (await conn.execute(query)).mappings().one_or_none()
    return row


async def first_reply(
    conn: AsyncConnection, scope: Scope, original_message_id: str
) -> sa.RowMapping | None:
    query = (
        inbound_select(scope)
        .where(messages.c.original_message_id == original_message_id)
        .order_by(messages.c.created_at, messages.c.id)
        .limit(1)
    )
    row: sa.RowMapping | None = (await conn.execute(query)).mappings().first()
    return row


def _unread_inbound(scope: Scope) -> list[sa.ColumnElement[bool]]:
    return [
        *visible(messages, scope),
        messages.c.channel == SMS,
        messages.c.direction == "in",
        messages.c.read_at.is_(None),
    ]


async def mark_inbound_read(
    conn: AsyncConnection, scope: Scope, before: float | None, now: int
) -> int:
    query = messages.update().where(*_unread_inbound(scope)).values(read_at=now)
    if before is not None:
        query = query.where(messages.c.created_at < before)
    return int((await conn.execute(query)).rowcount)


async def mark_one_inbound_read(
    conn: AsyncConnection, scope: Scope, message_id: str, now: int
) -> int:
    """Marks one inbound message read (keeping an earlier read time); 0 if it is not visible."""
    query = (
        messages.update()
        .where(
            *visible(messages, scope),
            messages.c.id == message_id,
            messages.c.channel == SMS,
            messages.c.direction == "in",
        )
        .values(read_at=sa.func.coalesce(messages.c.read_at, now))
    )
    return int((await conn.execute(query)).rowcount)


async def get_outbound(
    conn: AsyncConnection, account_id: int, message_id: str
) -> sa.RowMapping | None:
    query = sa.select(messages).where(
        messages.c.account_id == account_id,
        messages.c.id == message_id,
        messages.c.channel == SMS,
        messages.c.direction == "out",
    )
    row: sa.RowMapping | None = (await conn.execute(query)).mappings().one_or_none()
    return row


async def latest_outbound_to(
    conn: AsyncConnection, account_id: int, recipient: str
) -> sa.RowMapping | None:
    """The account's last SMS to `recipient`: what a reply from that number answers."""
    query = (
        sa.select(messages)
        .where(
            messages.c.account_id == account_id,
            messages.c.recipient == recipient,
            messages.c.channel == SMS,
            messages.c.direction == "out",
        )
        .order_by(messages.c.created_at.desc(), messages.c.id.desc())
        .limit(1)
    )
    row: sa.RowMapping | None = (await conn.execute(query)).mappings().first()
    return row


async def insert_inbound(conn: AsyncConnection, values: dict[str, Any]) -> None:
    await conn.execute(messages.insert().values(**values))


async def main_user(conn: AsyncConnection, account_id: int) -> int | None:
    """The account's main user: who owns inbound SMS that answers nothing we sent."""
    query = sa.select(users.c.id).where(users.c.account_id == account_id, users.c.is_main)
    found = (await conn.execute(query.order_by(users.c.id).limit(1))).scalar()
    return None if found is None else int(found)
