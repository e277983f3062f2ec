"""Reads of SMS history and inbound messages, plus the inbound write (it never queues).

Every query is bounded by a `Scope`: one account, and optionally one user of it (a
subaccount without `access_reporting` sees only what it sent or was sent).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from dovecote.core.errors import InvalidInput
from dovecote.pipeline.scope import Scope, visible
from dovecote.pipeline.status import HISTORY_STATUS
from dovecote.storage.listing import Fields, ListQuery, Page, _condition, paginate
from dovecote.storage.tables import messages, users

SMS = "sms"


# --- history -----------------------------------------------------------------------

# Search and order on the status ClickSend shows (`q=status:Completed`), not the queue's word.
_wire_status = sa.case(HISTORY_STATUS, value=messages.c.status, else_=messages.c.status)

HISTORY_FIELDS = Fields(
    columns={
        "message_id": messages.c.id,
        "status": _wire_status,
        "to": messages.c.recipient,
        "from": messages.c.sender,
        "body": messages.c.body,
        "direction": messages.c.direction,
        # Coalesced: the export's keyset pagination compares key values, and NULL
        # compares as unknown (a deleted user's username is NULL too).
        "custom_string": sa.func.coalesce(messages.c.custom_string, ""),
        "country": messages.c.country,
        "subaccount_id": messages.c.user_id,
        "user_id": messages.c.user_id,
        "username": sa.func.coalesce(users.c.username, ""),
        "date": messages.c.created_at,
    },
    text=frozenset({"to", "from", "body", "custom_string", "username"}),
)
_HISTORY_ORDER = (messages.c.created_at, messages.c.id)


def history_select(scope: Scope, date_from: int | None, date_to: int | None) -> sa.Select[Any]:
    query = (
        sa.select(messages, users.c.username.label("username"))
        .select_from(messages.outerjoin(users, users.c.id == messages.c.user_id))
        .where(*visible(messages, scope), messages.c.channel == SMS)
    )
    if date_from is not None:
        query = query.where(messages.c.created_at >= date_from)
    if date_to is not None:
        query = query.where(messages.c.created_at <= date_to)
    return query


async def list_history(
    conn: AsyncConnection,
    scope: Scope,
    params: ListQuery,
    date_from: int | None,
    date_to: int | None,
) -> Page:
    query = history_select(scope, date_from, date_to)
    return await paginate(conn, query, params, HISTORY_FIELDS, list(_HISTORY_ORDER))


def _filtered(query: sa.Select[Any], params: ListQuery, fields: Fields) -> sa.Select[Any]:
    if not params.filters:
        return query
    # listing's own filter builder, so an export applies `q` exactly as a page does.
    conditions = [_condition(fields, name, value) for name, value in params.filters]
    return query.where(sa.or_(*conditions) if params.operator == "OR" else sa.and_(*conditions))


def _ordering(
    params: ListQuery, fields: Fields
) -> list[tuple[sa.ColumnElement[Any], Literal["asc", "desc"]]]:
    keys: list[tuple[sa.ColumnElement[Any], Literal["asc", "desc"]]] = []
    for name, direction in params.order:
        column = fields.columns.get(name)
        if column is None:
            raise InvalidInput(f"Order field '{name}' is not supported.", field="order_by")
        keys.append((column, direction))
    return [*keys, *((column, "asc") for column in _HISTORY_ORDER)]


def check_history_query(params: ListQuery) -> None:
    """Refuse unknown `q` or `order_by` fields now, before an export link is handed out."""
    _filtered(sa.select(messages), params, HISTORY_FIELDS)
    _ordering(params, HISTORY_FIELDS)


def _after(
    keys: Sequence[tuple[sa.ColumnElement[Any], Literal["asc", "desc"]]], last: Sequence[Any]
) -> sa.ColumnElement[bool]:
    """Rows strictly after `last` in the order of `keys` (keyset pagination).

    Every key of HISTORY_FIELDS is NOT NULL (or coalesced), so comparisons are exact.
    """
    alternatives = []
    for index, (column, direction) in enumerate(keys):
        equal = [keys[i][0] == last[i] for i in range(index)]
        beyond = column > last[index] if direction == "asc" else column < last[index]
        alternatives.append(sa.and_(*equal, beyond))
    return sa.or_(*alternatives)


async def stream_history(
    engine: AsyncEngine,
    scope: Scope,
    params: ListQuery,
    date_from: int | None,
    date_to: int | None,
    *,
    chunk: int = 500,
) -> AsyncIterator[Mapping[str, Any]]:
    """Every matching row, `chunk` at a time, each chunk in its own short connection.

    Keyset pagination instead of one long cursor: on SQLite the engine has a single
    connection, and an export held open for minutes would stall every other request.
    """
    keys = _ordering(params, HISTORY_FIELDS)
    base = _filtered(history_select(scope, date_from, date_to), params, HISTORY_FIELDS)
    base = base.add_columns(*(column.label(f"_key{i}") for i, (column, _) in enumerate(keys)))
    base = base.order_by(
        *(column.desc() if direction == "desc" else column.asc() for column, direction in keys)
    ).limit(chunk)
    last: list[Any] | None = None
    while True:
        query = base if last is None else base.where(_after(keys, last))
        async with engine.connect() as conn:
            rows = list((await conn.execute(query)).mappings())
        for row in rows:
            yield row
        if len(rows) < chunk:
            return
        last = [rows[-1][f"_key{i}"] for i in range(len(keys))]


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
