"""MMS history: an account's MMS with their subject and media, and its CSV export.

The reads are `pipeline.history`'s (as SMS's are), on MMS rows joined to their media
file; the export link is `pipeline.exports`' signed form with `kind=mms`, so an SMS
link cannot be replayed here and the reverse.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from dovecote.core.errors import NotFound
from dovecote.core.models import Principal
from dovecote.pipeline import history
from dovecote.pipeline.exports import Export
from dovecote.pipeline.scope import Scope, scope_for
from dovecote.storage.listing import Fields, ListQuery, Page
from dovecote.storage.tables import message_media, messages

CHANNEL = "mms"
KIND = "mms"
EXPORT_PATH = "/v3/mms/history/export/download"
DEFAULT_FILENAME = "mms-history.csv"

FIELDS = Fields(
    columns={
        **history.HISTORY_FIELDS.columns,
        "subject": sa.func.coalesce(messages.c.subject, ""),
    },
    text=history.HISTORY_FIELDS.text | {"subject"},
)


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    message_id: str
    direction: str
    created_at: int
    sender: str
    recipient: str
    subject: str | None
    body: str
    status: str
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
    media_key: str | None


def entry_from_row(row: Mapping[Any, Any]) -> HistoryEntry:
    return HistoryEntry(
        message_id=row["id"],
        direction=row["direction"],
        created_at=int(row["created_at"]),
        sender=row["sender"],
        recipient=row["recipient"],
        subject=row["subject"],
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
        media_key=row["media_key"],
    )


def _select(scope: Scope, date_from: int | None, date_to: int | None) -> sa.Select[Any]:
    return (
        history.history_select(scope, CHANNEL, date_from, date_to)
        .add_columns(message_media.c.file_key.label("media_key"))
        .outerjoin(message_media, message_media.c.message_id == messages.c.id)
    )


async def list_history(
    conn: AsyncConnection,
    principal: Principal,
    params: ListQuery,
    *,
    date_from: int | None = None,
    date_to: int | None = None,
) -> Page:
    query = _select(scope_for(principal), date_from, date_to)
    return await history.list_history(conn, query, params, FIELDS)


async def get_message(conn: AsyncConnection, principal: Principal, message_id: str) -> HistoryEntry:
    """One of the caller's MMS, as history shows it (the spec's `/mms/receipts/{id}`)."""
    query = _select(scope_for(principal), None, None).where(messages.c.id == message_id.upper())
    row = (await conn.execute(query)).mappings().first()
    if row is None:
        raise NotFound(f"No MMS {message_id}.")
    return entry_from_row(row)


def export_link(
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
    """A signed URL that streams this history query as CSV until `ttl` seconds from now."""
    return history.export_link(
        principal,
        params,
        kind=KIND,
        path=EXPORT_PATH,
        default_filename=DEFAULT_FILENAME,
        date_from=date_from,
        date_to=date_to,
        filename=filename,
        secret=secret,
        base_url=base_url,
        ttl=ttl,
        fields=FIELDS,
        now=now,
    )


async def open_mms_export(
    conn: AsyncConnection, query: Mapping[str, str], *, secret: str
) -> Export:
    return await history.open_channel_export(conn, query, kind=KIND, secret=secret)


async def export_entries(engine: AsyncEngine, export: Export) -> AsyncIterator[HistoryEntry]:
    query = _select(export.scope, export.date_from, export.date_to)
    async for row in history.stream_history(engine, query, export.params, FIELDS):
        yield entry_from_row(row)
