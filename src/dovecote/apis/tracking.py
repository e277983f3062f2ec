"""Open pixel and click redirect: outside `/v3`, no credentials — the signature authorizes.

A hit with a bad or expired signature answers 404 and records nothing; a good one
records one `open`/`click` event. The redirect only ever goes to the URL that was signed.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import RedirectResponse, Response

from dovecote.apis.deps import Conn, RuntimeDep, client_ip
from dovecote.channels.email import tracking

router = APIRouter(tags=["Tracking"], include_in_schema=False)

MessageId = Annotated[str, Path()]
# A missing parameter is just a bad signature: 404, never a 400 that tells a prober
# which part was wrong.
Expires = Annotated[str, Query(alias="e")]
Signature = Annotated[str, Query(alias="s")]
# Nothing is cached: every open should reach us, and a shared cache must not replay one.
NO_STORE = {"Cache-Control": "no-store, no-cache, must-revalidate, private", "Pragma": "no-cache"}


def _client(request: Request) -> tuple[str | None, str | None]:
    return request.headers.get("user-agent"), client_ip(request)


@router.get(tracking.OPEN_PATH)
async def open_pixel(
    message_id: MessageId,
    request: Request,
    conn: Conn,
    runtime: RuntimeDep,
    expires: Expires = "",
    signature: Signature = "",
) -> Response:
    user_agent, ip = _client(request)
    await tracking.record_hit(
        conn,
        runtime.events,
        kind="open",
        message_id=message_id,
        secret=runtime.settings.secret_key,
        expires=expires,
        signature=signature,
        user_agent=user_agent,
        ip=ip,
    )
    return Response(tracking.PIXEL, media_type="image/gif", headers=NO_STORE)


@router.get(tracking.CLICK_PATH)
async def click_redirect(
    message_id: MessageId,
    request: Request,
    conn: Conn,
    runtime: RuntimeDep,
    url: Annotated[str, Query(alias="u")] = "",
    expires: Expires = "",
    signature: Signature = "",
) -> Response:
    user_agent, ip = _client(request)
    await tracking.record_hit(
        conn,
        runtime.events,
        kind="click",
        message_id=message_id,
        url=url,
        secret=runtime.settings.secret_key,
        expires=expires,
        signature=signature,
        user_agent=user_agent,
        ip=ip,
    )
    return RedirectResponse(url, status_code=302, headers=NO_STORE)
