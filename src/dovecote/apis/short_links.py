"""`GET /s/{code}`: a campaign recipient's short link. Outside `/v3`, no credentials: the
code is the key. A known code counts one click and redirects (302) to the long URL; any
other answers 404 and records nothing."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import RedirectResponse, Response

from dovecote.apis.deps import Conn
from dovecote.campaigns import links

router = APIRouter(tags=["Short links"], include_in_schema=False)

Code = Annotated[str, Path(max_length=32)]


@router.get(links.PATH + "{code}")
async def follow(code: Code, request: Request, conn: Conn) -> Response:
    user_agent = request.headers.get("user-agent", "")[:500]
    target = await links.click(conn, code, user_agent, int(time.time()))
    if target is None:
        return Response(status_code=404, headers={"Cache-Control": "no-store"})
    return RedirectResponse(target, status_code=302, headers={"Cache-Control": "no-store"})
