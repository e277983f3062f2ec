"""What the sandbox rendered for other channels, on the message page: a voice call's WAV
(an audio player), a fax's pages and a letter's or postcard's proof (images). Read through the code
behind `/sandbox/voice/{id}.wav`, `/sandbox/fax/{id}/page/{n}.png` and
`/sandbox/post/{id}/proof/{n}.png` (and `/sandbox/postcards/…`), so the same scope and the same "only what the
sandbox rendered" rule apply; under Messages, so the same `access_reporting` as the
message page.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response

from dovecote.channels.fax import history as fax
from dovecote.channels.post import history as post
from dovecote.channels.post.channel import LETTER, POSTCARD
from dovecote.channels.voice import history as voice
from dovecote.core.errors import NotFound
from dovecote.dashboard import guard, web
from dovecote.dashboard.messages import FLAG

router = APIRouter(include_in_schema=False, route_class=guard.PageRoute)

Allowed = Annotated[web.Viewer, Depends(guard.viewer_with(FLAG))]
MessageId = Annotated[str, Path(min_length=1, max_length=64)]


def _missing(exc: NotFound) -> Response:
    return Response(exc.message, status_code=404, media_type="text/plain")


@router.get("/messages/{message_id}/voice.wav")
async def voice_recording(request: Request, who: Allowed, message_id: MessageId) -> Response:
    runtime = web.runtime_of(request)
    try:
        async with runtime.engine.connect() as conn:
            wav = await voice.recording(conn, who.principal, message_id, runtime.files)
    except NotFound as exc:
        return _missing(exc)
    return web.secure(Response(wav, media_type="audio/wav"))


@router.get("/messages/{message_id}/fax/{page}.png")
async def fax_page(
    request: Request, who: Allowed, message_id: MessageId, page: Annotated[int, Path(ge=1, le=1000)]
) -> Response:
    runtime = web.runtime_of(request)
    try:
        async with runtime.engine.connect() as conn:
            png = await fax.page_preview(conn, who.principal, message_id, page, runtime.files)
    except NotFound as exc:
        return _missing(exc)
    return web.secure(Response(png, media_type="image/png"))


@router.get("/messages/{message_id}/proof/{page}.png")
async def letter_proof(
    request: Request, who: Allowed, message_id: MessageId, page: Annotated[int, Path(ge=1, le=1000)]
) -> Response:
    return await _proof(request, who, LETTER.name, message_id, page)


@router.get("/messages/{message_id}/postcard/{side}.png")
async def postcard_proof(
    request: Request, who: Allowed, message_id: MessageId, side: Annotated[int, Path(ge=1, le=2)]
) -> Response:
    return await _proof(request, who, POSTCARD.name, message_id, side)


async def _proof(
    request: Request, who: web.Viewer, channel: str, message_id: str, page: int
) -> Response:
    runtime = web.runtime_of(request)
    try:
        async with runtime.engine.connect() as conn:
            png = await post.proof_page(
                conn, channel, who.principal, message_id, page, runtime.files
            )
    except NotFound as exc:
        return _missing(exc)
    return web.secure(Response(png, media_type="image/png"))
