"""Voice history (the channel-independent query, with each call's options) and its
export, and the sandbox's recording of a call."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from dovecote.channels.voice.compose import CHANNEL
from dovecote.channels.voice.sandbox import wav_key
from dovecote.core.errors import NotFound
from dovecote.core.models import Principal
from dovecote.files.store import FileMissing, FileStore
from dovecote.pipeline import history
from dovecote.pipeline.exports import Export
from dovecote.pipeline.scope import scope_for
from dovecote.storage.listing import ListQuery, Page

EXPORT_PATH = "/v3/voice/history/export/download"
DEFAULT_FILENAME = "voice-history.csv"


async def list_history(
    conn: AsyncConnection,
    principal: Principal,
    params: ListQuery,
    *,
    date_from: int | None = None,
    date_to: int | None = None,
) -> Page:
    query = history.history_select(
        scope_for(principal), CHANNEL, date_from, date_to, with_payload=True
    )
    return await history.list_history(conn, query, params)


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
) -> str:
    return history.export_link(
        principal,
        params,
        kind=CHANNEL,
        path=EXPORT_PATH,
        default_filename=DEFAULT_FILENAME,
        date_from=date_from,
        date_to=date_to,
        filename=filename,
        secret=secret,
        base_url=base_url,
        ttl=ttl,
    )


async def open_export(conn: AsyncConnection, query: Mapping[str, str], *, secret: str) -> Export:
    return await history.open_channel_export(conn, query, kind=CHANNEL, secret=secret)


def export_rows(engine: AsyncEngine, export: Export) -> AsyncIterator[Mapping[str, Any]]:
    query = history.history_select(
        export.scope, CHANNEL, export.date_from, export.date_to, with_payload=True
    )
    return history.stream_history(engine, query, export.params)


async def recording(
    conn: AsyncConnection, principal: Principal, message_id: str, files: FileStore
) -> bytes:
    """The WAV the sandbox rendered for one of the caller's calls."""
    row = await history.get_message(conn, scope_for(principal), CHANNEL, message_id.upper())
    if row is None:
        raise NotFound(f"Voice message {message_id} is not a message of this account.")
    try:
        return await files.get(wav_key(row["id"]))
    except FileMissing:
        raise NotFound(
            f"Voice message {message_id} has no recording: the sandbox has not called yet, "
            "or it went to another transport."
        ) from None
