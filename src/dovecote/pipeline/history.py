"""Message history of any channel: one page of it, or every row for a CSV export.

A channel builds its select with `history_select` (its rows, the caller's scope, the
date range; MMS joins its media, voice and fax their request options) and hands it
here; `q` and `order_by` work on `fields` (the SMS set by default, a channel may extend
it), and an export walks the rows by keyset in short connections. Export links sign the
query and the channel (`kind`) with `pipeline.exports`, so one channel's link never
opens another's.

`ChannelHistory` bundles all of it for one channel (its channel name, export path,
default file name, fields and how its select is extended), so a channel declares its
history instead of repeating list/export/open/stream; `HistoryEntry` is the typed row
SMS and MMS render (MMS fills the optional subject and media).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from dovecote.core.errors import Forbidden, InvalidInput
from dovecote.core.models import Principal
from dovecote.pipeline.exports import Export, clean_filename, open_export, signed_url
from dovecote.pipeline.scope import Scope, scope_for, visible
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


# --- one channel's history ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChannelHistory:
    """One channel's history page, export link, link check and export rows.

    `kind` is what its export links sign (None: SMS, whose links predate `kind`, signs
    none and refuses any link that carries one). `extend` adds the channel's own
    columns and joins to `history_select` (MMS its media, post its addresses), and
    `with_payload` joins each message's request options (voice, fax)."""

    channel: str
    export_path: str
    default_filename: str
    kind: str | None
    fields: Fields = HISTORY_FIELDS
    with_payload: bool = False
    extend: Callable[[sa.Select[Any]], sa.Select[Any]] | None = None

    def select(self, scope: Scope, date_from: int | None, date_to: int | None) -> sa.Select[Any]:
        query = history_select(
            scope, self.channel, date_from, date_to, with_payload=self.with_payload
        )
        return query if self.extend is None else self.extend(query)

    async def list_history(
        self,
        conn: AsyncConnection,
        principal: Principal,
        params: ListQuery,
        *,
        date_from: int | None = None,
        date_to: int | None = None,
    ) -> Page:
        query = self.select(scope_for(principal), date_from, date_to)
        return await list_history(conn, query, params, self.fields)

    def export_link(
        self,
        principal: Principal,
        params: ListQuery,
        *,
        date_from: int | None,
        date_to: int | None,
        filename: str | None,
        secret: str,
        base_url: str,
        ttl: int,
        now: int | None = None,
    ) -> str:
        return export_link(
            principal,
            params,
            kind=self.kind,
            path=self.export_path,
            default_filename=self.default_filename,
            date_from=date_from,
            date_to=date_to,
            filename=filename,
            secret=secret,
            base_url=base_url,
            ttl=ttl,
            fields=self.fields,
            now=now,
        )

    async def open_export(
        self, conn: AsyncConnection, query: Mapping[str, str], *, secret: str
    ) -> Export:
        if self.kind is None:
            # Other channels' links share the signed form but carry a `kind`, so one
            # cannot be replayed here to read this channel with its filters.
            if "kind" in query:
                raise Forbidden("This export link is not valid.")
            return await open_export(conn, query, secret=secret)
        return await open_channel_export(conn, query, kind=self.kind, secret=secret)

    def export_rows(self, engine: AsyncEngine, export: Export) -> AsyncIterator[Mapping[str, Any]]:
        query = self.select(export.scope, export.date_from, export.date_to)
        return stream_history(engine, query, export.params, self.fields)


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One message as SMS and MMS history show it (MMS adds `subject` and `media_key`)."""

    message_id: str
    direction: str  # out | in
    created_at: int
    sender: str
    recipient: str
    body: str
    status: str  # delivery_status vocabulary
    schedule: int | None
    status_code: str | None
    status_text: str | None
    error_code: str | None
    error_text: str | None
    parts: int
    price_micros: int
    from_email: str | None
    list_id: int | None
    custom_string: str | None
    country: str
    user_id: int
    username: str | None
    subject: str | None = None
    media_key: str | None = None


def entry_from_row(row: Mapping[Any, Any]) -> HistoryEntry:
    return HistoryEntry(
        message_id=row["id"],
        direction=row["direction"],
        created_at=int(row["created_at"]),
        sender=row["sender"],
        recipient=row["recipient"],
        body=row["body"],
        status=row["status"],
        schedule=row["schedule"],
        status_code=row["status_code"],
        status_text=row["status_text"],
        error_code=row["error_code"],
        error_text=row["error_text"],
        parts=int(row["parts"]),
        price_micros=int(row["price_micros"]),
        from_email=row["from_email"],
        list_id=row["list_id"],
        custom_string=row["custom_string"],
        country=row["country"],
        user_id=int(row["user_id"]),
        username=row["username"],
        subject=row.get("subject"),
        media_key=row.get("media_key"),
    )
