"""What the sandbox rendered, for the account that sent it (Dovecote-specific): a voice
call's WAV, a fax's pages as PNG; and an inbound fax, simulated."""

from __future__ import annotations

import base64
from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from dovecote.apis.clicksend.envelope import envelope
from dovecote.apis.deps import Conn, CurrentPrincipal, DetachedPrincipal, RuntimeDep
from dovecote.channels.fax import document as fax_document
from dovecote.channels.fax import history as fax
from dovecote.channels.voice import history as voice
from dovecote.core.errors import InvalidInput

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
    wav = await voice.recording(conn, principal, message_id, runtime.files)
    return Response(wav, media_type="audio/wav")


@router.get(
    "/fax/{message_id}/page/{page}.png",
    summary="One page of a fax as the receiving machine printed it (1-bit, 204 × 196 dpi)",
    description="Sent faxes once the sandbox has sent them, and simulated inbound faxes.",
    response_class=Response,
)
async def fax_page(
    message_id: MessageId,
    page: Annotated[int, Path(ge=1, le=1000)],
    principal: CurrentPrincipal,
    conn: Conn,
    runtime: RuntimeDep,
) -> Response:
    png = await fax.page_preview(conn, principal, message_id, page, runtime.files)
    return Response(png, media_type="image/png")


class SimulatedFax(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    sender: str = Field(alias="from", max_length=64, description="The sending fax number.")
    to: str = Field(max_length=64, description="Your fax number it was sent to.")
    content: str = Field(
        max_length=fax_document.MAX_BYTES * 4 // 3 + 4, description="The PDF, base64."
    )


@router.post("/fax/inbound", summary="Simulate an inbound fax (a PDF, base64)")
async def simulate_inbound_fax(
    body: SimulatedFax, principal: DetachedPrincipal, runtime: RuntimeDep
) -> JSONResponse:
    try:
        pdf = base64.b64decode(body.content, validate=True)
    except ValueError:
        raise InvalidInput("content must be the PDF in base64.", field="content") from None
    files = runtime.files
    message_id, received = await fax.prepare_inbound(files, pdf)
    async with runtime.engine.begin() as conn:
        row = await fax.record_inbound(
            conn,
            principal,
            message_id,
            received,
            sender=body.sender,
            recipient=body.to,
            events=runtime.events,
        )
    data = {
        "message_id": row["id"],
        "direction": "in",
        "from": row["sender"],
        "to": row["recipient"],
        "message_pages": row["parts"],
        "date_added": row["created_at"],
        "status": "Received",
        "_pages_url": f"/sandbox/fax/{row['id']}/page/1.png",
    }
    return envelope(data, "Inbound fax has been recorded.")
