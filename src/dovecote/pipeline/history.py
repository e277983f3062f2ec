"""Message history of any channel: one page of it, or every row for a CSV export.

A channel builds its select with `history_select` (its rows, the caller's scope, the
date range; MMS joins its media) and hands it here; `q` and `order_by` work on
`fields` (the SMS set by default, a channel may extend it), and an export walks the
rows by keyset in short connections.
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


def history_select(
    scope: Scope, channel: str, date_from: int | None, date_to: int | None
) -> sa.Select[Any]:
    query = (
        sa.select(messages, users.c.username.label("username"))
        .select_from(messages.outerjoin(users, users.c.id == messages.c.user_id))
        .where(*visible(messages, scope), messages.c.channel == channel)
    )
    if date_from is not None:
        query = query.where(messages.c.created_at >= date_from)
    if date_to is not None:
        query = query.where(messages.c.created_at <= date_to)
    return query


async def list_history(
    conn: AsyncConnection, query: sa.Select[Any], params: ListQuery, fields: Fields = HISTORY_FIELDS
) -> Page:
    return await paginate(conn, query, params, fields, list(_HISTORY_ORDER))


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


def check_history_query(params: ListQuery, fields: Fields = HISTORY_FIELDS) -> None:
    """Refuse unknown `q` or `order_by` fields now, before an export link is handed out."""
    _filtered(sa.select(messages), params, fields)
    _ordering(params, fields)


def _after(
    keys: Sequence[tuple[sa.ColumnElement[Any], Literal["asc", "desc"]]], last: Sequence[Any]
) -> sa.ColumnElement[bool]:
    """Rows strictly after `last` in the order of `keys` (keyset pagination).

    Every key of the history fields is NOT NULL (or coalesced), so comparisons are exact.
    """
    alternatives = []
    for index, (column, direction) in enumerate(keys):
        equal = [keys[i][0] == last[i] for i in range(index)]
        beyond = column > last[index] if direction == "asc" else column < last[index]
        alternatives.append(sa.and_(*equal, beyond))
    return sa.or_(*alternatives)


async def stream_history(
    engine: AsyncEngine,
    query: sa.Select[Any],
    params: ListQuery,
    fields: Fields = HISTORY_FIELDS,
    *,
    chunk: int = 500,
) -> AsyncIterator[Mapping[str, Any]]:
    """Every matching row, `chunk` at a time, each chunk in its own short connection.

    Keyset pagination instead of one long cursor: on SQLite the engine has a single
    connection, and an export held open for minutes would stall every other request.
    """
    keys = _ordering(params, fields)
    base = _filtered(query, params, fields)
    base = base.add_columns(*(column.label(f"_key{i}") for i, (column, _) in enumerate(keys)))
    base = base.order_by(
        *(column.desc() if direction == "desc" else column.asc() for column, direction in keys)
    ).limit(chunk)
    last: list[Any] | None = None
    while True:
        page = base if last is None else base.where(_after(keys, last))
        async with engine.connect() as conn:
            rows = list((await conn.execute(page)).mappings())
        for row in rows:
            yield row
        if len(rows) < chunk:
            return
        last = [rows[-1][f"_key{i}"] for i in range(len(keys))]
