"""MMS history: an account's MMS with their subject and media, and its CSV export.

The reads are `pipeline.history`'s (as SMS's are), on MMS rows joined to their media
file; the export link is `pipeline.exports`' signed form with `kind=mms`, so an SMS
link cannot be replayed here and the reverse. Rows render as SMS's do
(`history.HistoryEntry`), with the subject and media filled in.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from dovecote.core.errors import NotFound
from dovecote.core.models import Principal
from dovecote.pipeline import history
from dovecote.pipeline.history import HistoryEntry, entry_from_row
from dovecote.pipeline.scope import scope_for
from dovecote.storage.listing import Fields
from dovecote.storage.tables import message_media, messages

CHANNEL = "mms"

FIELDS = Fields(
    columns={
        **history.HISTORY_FIELDS.columns,
        "subject": sa.func.coalesce(messages.c.subject, ""),
    },
    text=history.HISTORY_FIELDS.text | {"subject"},
)


def _with_media(query: sa.Select[Any]) -> sa.Select[Any]:
    return query.add_columns(message_media.c.file_key.label("media_key")).outerjoin(
        message_media, message_media.c.message_id == messages.c.id
    )


HISTORY = history.ChannelHistory(
    channel=CHANNEL,
    export_path="/v3/mms/history/export/download",
    default_filename="mms-history.csv",
    kind=CHANNEL,
    fields=FIELDS,
    extend=_with_media,
)


async def get_message(conn: AsyncConnection, principal: Principal, message_id: str) -> HistoryEntry:
    """One of the caller's MMS, as history shows it (the spec's `/mms/receipts/{id}`)."""
    query = HISTORY.select(scope_for(principal), None, None).where(
        messages.c.id == message_id.upper()
    )
    row = (await conn.execute(query)).mappings().first()
    if row is None:
        raise NotFound(f"No MMS {message_id}.")
    return entry_from_row(row)
