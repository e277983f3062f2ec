"""Message history of any channel: one page of it, or every row for a CSV export.

A channel builds its select with `history_select` (its rows, the caller's scope, the
date range; MMS joins its media, voice and fax their request options) and hands it
here; `q` and `order_by` work on `fields` (the SMS set by default, a channel may extend
it), and an export walks the rows by keyset in short connections. Export links sign the
query and the channel (`kind`) with `pipeline.exports`, so one channel's link never
opens another's.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from dovecote.core.errors import Forbidden, InvalidInput
from dovecote.core.models import Principal
from dovecote.pipeline.exports import Export, clean_filename, open_export, signed_url
from dovecote.pipeline.scope import Scope, visible
from dovecote.pipeline.status import HISTORY_STATUS
from dovecote.storage.listing import Fields, ListQuery, Page, _condition, paginate
from dovecote.storage.tables import message_payloads, messages, users

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
    scope: Scope,
    channel: str,
    date_from: int | None,
    date_to: int | None,
    *,
    with_payload: bool = False,
) -> sa.Select[Any]:
    joined = messages.outerjoin(users, users.c.id == messages.c.user_id)
    columns: list[Any] = [messages, users.c.username.label("username")]
    if with_payload:
        # The channel's request options (a voice call's language, a fax's page count).
        joined = joined.outerjoin(message_payloads, message_payloads.c.message_id == messages.c.id)
        columns.append(message_payloads.c.payload.label("payload"))
    query = (
        sa.select(*columns)
        .select_from(joined)
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


async def get_message(
    conn: AsyncConnection, scope: Scope, channel: str, message_id: str
) -> sa.RowMapping | None:
    """One of the caller's messages of `channel` (either direction), or None."""
    query = sa.select(messages).where(
        *visible(messages, scope), messages.c.channel == channel, messages.c.id == message_id
    )
    row: sa.RowMapping | None = (await conn.execute(query)).mappings().one_or_none()
    return row


# --- export links -------------------------------------------------------------------


def export_link(
    principal: Principal,
    params: ListQuery,
    *,
    kind: str | None,
    path: str,
    default_filename: str,
    date_from: int | None,
    date_to: int | None,
    filename: str | None,
    secret: str,
    base_url: str,
    ttl: int,
    fields: Fields = HISTORY_FIELDS,
    now: int | None = None,
) -> str:
    """A signed URL that streams this history query as CSV until `ttl` seconds from now.
    `kind` (the channel) is signed too, so one channel's link never opens another's;
    SMS, the first channel with exports, signs none (its links predate `kind`)."""
    check_history_query(params, fields)
    signed = {
        "kind": kind or "",
        "account": str(principal.account.id),
        "user": str(principal.user.id),
        "filename": clean_filename(filename, default_filename),
        "q": ",".join(f"{name}:{value}" for name, value in params.filters),
        "operator": params.operator,
        "order_by": ",".join(f"{name}:{direction}" for name, direction in params.order),
        "date_from": "" if date_from is None else str(date_from),
        "date_to": "" if date_to is None else str(date_to),
    }
    signed = {name: value for name, value in signed.items() if value}
    return signed_url(signed, path=path, secret=secret, base_url=base_url, ttl=ttl, now=now)


async def open_channel_export(
    conn: AsyncConnection, query: Mapping[str, str], *, kind: str, secret: str
) -> Export:
    """Check a link from `export_link` (expired → NotFound; altered or another
    channel's → Forbidden)."""
    if query.get("kind") != kind:
        raise Forbidden("This export link is not valid.")
    return await open_export(conn, query, secret=secret)
