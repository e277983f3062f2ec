"""SMS history: an account's messages in both directions, and its CSV export.

An export is not a stored file: `export_link` signs the query (who, which filters,
until when) into a URL, and opening that URL streams the CSV straight from the
database. Nothing to clean up, and a link cannot be widened by editing it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from dovecote.channels.sms import store
from dovecote.core.errors import Forbidden
from dovecote.core.models import Principal
from dovecote.pipeline import history
from dovecote.pipeline.exports import Export, open_export
from dovecote.pipeline.scope import scope_for
from dovecote.storage.listing import ListQuery, Page

EXPORT_PATH = "/v3/sms/history/export/download"
DEFAULT_FILENAME = "sms-history.csv"


@dataclass(frozen=True, slots=True)
class HistoryEntry:
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
    )


async def list_history(
    conn: AsyncConnection,
    principal: Principal,
    params: ListQuery,
    *,
    date_from: int | None = None,
    date_to: int | None = None,
) -> Page:
    return await store.list_history(conn, scope_for(principal), params, date_from, date_to)


# --- export ------------------------------------------------------------------------


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
        kind=None,
        path=EXPORT_PATH,
        default_filename=DEFAULT_FILENAME,
        date_from=date_from,
        date_to=date_to,
        filename=filename,
        secret=secret,
        base_url=base_url,
        ttl=ttl,
        now=now,
    )


async def open_sms_export(
    conn: AsyncConnection, query: Mapping[str, str], *, secret: str
) -> Export:
    """Check an SMS export link. Other channels' links share the signed form but carry a
    `kind`, so one cannot be replayed here to read SMS with its filters."""
    if "kind" in query:
        raise Forbidden("This export link is not valid.")
    return await open_export(conn, query, secret=secret)


async def export_entries(engine: AsyncEngine, export: Export) -> AsyncIterator[HistoryEntry]:
    rows = store.stream_history(
        engine, export.scope, export.params, export.date_from, export.date_to
    )
    async for row in rows:
        yield entry_from_row(row)
