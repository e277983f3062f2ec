"""Voice history (the channel-independent query, with each call's options) and its
export, and the sandbox's recording of a call."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from dovecote.channels.voice.compose import CHANNEL
from dovecote.channels.voice.sandbox import wav_key
from dovecote.core.errors import NotFound
from dovecote.core.models import Principal
from dovecote.files.store import FileMissing, FileStore
from dovecote.pipeline import history
from dovecote.pipeline.scope import scope_for

HISTORY = history.ChannelHistory(
    channel=CHANNEL,
    export_path="/v3/voice/history/export/download",
    default_filename="voice-history.csv",
    kind=CHANNEL,
    with_payload=True,
)


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
