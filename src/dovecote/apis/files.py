"""`GET /files/<key>`: a stored file through a signed link (`files.links`); the link,
not Basic auth, authorizes it, so a handset or a browser can open it."""

from __future__ import annotations

import mimetypes

from fastapi import APIRouter, Request
from fastapi.responses import Response

from dovecote.apis.deps import RuntimeDep
from dovecote.core.errors import NotFound
from dovecote.files import links
from dovecote.files.store import FileMissing

router = APIRouter(tags=["Files"])


@router.get(links.PATH + "{key:path}", summary="Download a stored file through its signed link")
async def get_file(key: str, request: Request, runtime: RuntimeDep) -> Response:
    # One answer for a bad signature, an expired link and a missing file: a link
    # either works or it does not, and no one learns which keys exist.
    if not links.verify(key, request.query_params, secret=runtime.settings.secret_key):
        raise NotFound("This file link is not valid or has expired.")
    try:
        data = await runtime.files.get(key)
    except FileMissing:
        raise NotFound("This file link is not valid or has expired.") from None
    media_type = mimetypes.guess_type(key)[0] or "application/octet-stream"
    return Response(
        data,
        media_type=media_type,
        headers={"Cache-Control": "private, max-age=300", "X-Content-Type-Options": "nosniff"},
    )
