"""What the sandbox rendered, for the account that sent it (Dovecote-specific): a voice
call's WAV."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import Response

from dovecote.apis.deps import Conn, CurrentPrincipal, RuntimeDep
from dovecote.channels.voice import history as voice
from dovecote.files.store import open_store

router = APIRouter(prefix="/sandbox", tags=["Sandbox"])

MessageId = Annotated[str, Path(min_length=1, max_length=64)]


@router.get(
    "/voice/{message_id}.wav",
    summary="The speech the voice sandbox rendered for a call",
    description="404 until the sandbox has made the call, and for calls of other transports.",
    response_class=Response,
)
async def voice_recording(
    message_id: MessageId, principal: CurrentPrincipal, conn: Conn, runtime: RuntimeDep
) -> Response:
    wav = await voice.recording(conn, principal, message_id, open_store(runtime.settings))
    return Response(wav, media_type="audio/wav")
