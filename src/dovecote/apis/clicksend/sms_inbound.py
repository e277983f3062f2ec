"""`/v3/sms/inbound`: poll replies, mark them read, send a test inbound SMS."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse

from dovecote.apis.clicksend.envelope import envelope
from dovecote.apis.clicksend.listing import ListParams, render_page
from dovecote.apis.clicksend.sms_receipts import NO_NULL_BODY, MarkRead, TestUrl
from dovecote.apis.deps import Conn, CurrentPrincipal, DetachedPrincipal, RuntimeDep
from dovecote.channels.sms import inbound
from dovecote.channels.sms.inbound import Inbound

router = APIRouter(tags=["SMS"])

MessageId = Annotated[str, Path(min_length=1, max_length=64)]


def test_message(message: Inbound) -> dict[str, Any]:
    # The SDK's InboundSmsTest names the time `timestamp_send`; keep `timestamp` too.
    return {**inbound.payload(message), "timestamp_send": message.timestamp}


@router.get("/sms/inbound", summary="Get all inbound SMS (unread)")
async def list_inbound(
    request: Request, params: ListParams, principal: CurrentPrincipal, conn: Conn
) -> JSONResponse:
    page = await inbound.list_unread(conn, principal, params)
    data = render_page(page, request, lambda row: inbound.payload(inbound.inbound_from_row(row)))
    return envelope(data, "Here are your data.")


@router.post("/sms/inbound", summary="Add a test inbound SMS")
async def add_test_inbound(
    body: TestUrl, principal: DetachedPrincipal, runtime: RuntimeDep
) -> JSONResponse:
    message = await inbound.send_test_inbound(
        runtime.engine,
        runtime.events,
        principal,
        body.url,
        allow_private=runtime.settings.fetch_allow_private,
        timeout=runtime.settings.fetch_timeout,
    )
    return envelope(test_message(message), "Here are your incoming messages.")


@router.put("/sms/inbound-read", summary="Mark all inbound SMS as read", dependencies=NO_NULL_BODY)
async def mark_all_read(
    principal: CurrentPrincipal, conn: Conn, body: MarkRead | None = None
) -> JSONResponse:
    await inbound.mark_all_read(conn, principal, body.date_before if body else None)
    # The spec shows `[]`, but the SDK's MarkInboundSmsAsRead wants an object or null.
    return envelope(None, "Inbound messages have been marked as read.")


@router.put("/sms/inbound-read/{message_id}", summary="Mark a specific inbound SMS as read")
async def mark_read(message_id: MessageId, principal: CurrentPrincipal, conn: Conn) -> JSONResponse:
    count = await inbound.mark_read(conn, principal, message_id)
    return envelope(count, "Inbound messages have been marked as read.")


@router.get("/sms/inbound/{original_message_id}", summary="Get the reply to a message")
async def get_reply(
    original_message_id: MessageId, principal: CurrentPrincipal, conn: Conn
) -> JSONResponse:
    message = await inbound.get_reply(conn, principal, original_message_id)
    return envelope(inbound.payload(message), "Here's your result.")
