"""`/v3/sms/receipts`: poll delivery receipts, mark them read, send a test receipt."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse

from dovecote.apis.clicksend.envelope import envelope
from dovecote.apis.clicksend.listing import ListParams, render_page
from dovecote.apis.clicksend.receipt_routes import MarkRead, TestUrl
from dovecote.apis.deps import Conn, CurrentPrincipal, DetachedPrincipal, RuntimeDep
from dovecote.channels.sms import receipts

router = APIRouter(tags=["SMS"])
__all__ = ["MarkRead", "TestUrl", "router"]

MessageId = Annotated[str, Path(min_length=1, max_length=64)]


@router.get("/sms/receipts", summary="Get all delivery receipts")
async def list_receipts(
    request: Request, params: ListParams, principal: CurrentPrincipal, conn: Conn
) -> JSONResponse:
    page = await receipts.list_unread(conn, principal, params)
    data = render_page(page, request, lambda row: receipts.payload(receipts.receipt_from_row(row)))
    return envelope(data, "Here are your delivery receipts.")


@router.post("/sms/receipts", summary="Add a test delivery receipt")
async def add_test_receipt(
    body: TestUrl, principal: DetachedPrincipal, runtime: RuntimeDep
) -> JSONResponse:
    receipt = await receipts.send_test_receipt(
        runtime.engine,
        principal,
        body.url,
        events=runtime.events,
        allow_private=runtime.settings.fetch_allow_private,
        timeout=runtime.settings.fetch_timeout,
    )
    return envelope(receipts.payload(receipt), "Receipt has been added")


@router.put("/sms/receipts-read", summary="Mark delivery receipts as read")
async def mark_receipts_read(
    principal: CurrentPrincipal, conn: Conn, body: MarkRead | None = None
) -> JSONResponse:
    await receipts.mark_read(conn, principal, body.date_before if body else None)
    # The spec shows `[]`, but the SDK's MarkSmsReceiptAsRead wants an object or null.
    return envelope(None, "Receipts have been marked as read.")


@router.get("/sms/receipts/{message_id}", summary="Get a specific delivery receipt")
async def get_receipt(
    message_id: MessageId, principal: CurrentPrincipal, conn: Conn
) -> JSONResponse:
    receipt = await receipts.get_receipt(conn, principal, message_id)
    return envelope(receipts.payload(receipt), "Your receipt.")
