"""`/dovecote/providers/{connector}/receipts/{token}` (Dovecote-only, no API key): where
an http connector's upstream pushes delivery receipts. The token in the path is the
connector's `receipt_token`; the body is one ClickSend receipt, form-encoded (ClickSend's
automation URL action, Dovecote's default) or JSON. Answers use ClickSend's envelope.
"""

from __future__ import annotations

import json
from typing import Annotated, Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse

from dovecote.apis.clicksend.envelope import envelope
from dovecote.apis.deps import Conn, RuntimeDep
from dovecote.core.errors import InvalidInput
from dovecote.pipeline.routing import store
from dovecote.pipeline.transports.http import receipts

router = APIRouter(prefix="/dovecote/providers", tags=["Routing (Dovecote)"])

ConnectorName = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$")]
Token = Annotated[str, Path(min_length=1, max_length=200)]
MAX_BODY = 64 * 1024  # a receipt is a few hundred bytes


async def _fields(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if len(raw) > MAX_BODY:
        raise InvalidInput("A receipt is at most 64 KB.", field="body")
    text = raw.decode("utf-8", errors="replace")
    if "json" in request.headers.get("content-type", ""):
        try:
            parsed = json.loads(text or "null")
        except ValueError:
            raise InvalidInput("The body is not valid JSON.", field="body") from None
        if not isinstance(parsed, dict):
            raise InvalidInput("The body must be one receipt (a JSON object).", field="body")
        return parsed
    return dict(parse_qsl(text, keep_blank_values=True))


@router.post(
    "/{connector}/receipts/{token}",
    summary="Take a delivery receipt pushed by an http connector's upstream",
)
async def push_receipt(
    connector: ConnectorName, token: Token, request: Request, conn: Conn, runtime: RuntimeDep
) -> JSONResponse:
    fields = await _fields(request)
    receipt = await receipts.accept(conn, connector, token, fields, store.sealer(runtime.settings))
    return envelope({"message_id": receipt.upstream_id}, "The receipt has been received.")
