"""`/v3/mms/receipts`: poll MMS delivery receipts, look one MMS up, mark them read."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse

from dovecote.accounts import service as accounts
from dovecote.apis.clicksend.envelope import envelope
from dovecote.apis.clicksend.listing import ListParams, render_page
from dovecote.apis.clicksend.mms_history import rendered
from dovecote.apis.clicksend.sms_receipts import NO_NULL_BODY, MarkRead
from dovecote.apis.deps import Conn, CurrentPrincipal, RuntimeDep
from dovecote.channels.mms import history
from dovecote.pipeline import receipts

router = APIRouter(tags=["MMS"])

CHANNEL = "mms"
MessageId = Annotated[str, Path(min_length=1, max_length=64)]


@router.get("/mms/receipts", summary="Get all MMS delivery receipts")
async def list_receipts(
    request: Request, params: ListParams, principal: CurrentPrincipal, conn: Conn
) -> JSONResponse:
    accounts.require(principal, "access_mms")
    page = await receipts.list_unread(conn, principal, CHANNEL, params)
    data = render_page(page, request, lambda row: receipts.payload(receipts.receipt_from_row(row)))
    return envelope(data, "Here are your delivery receipts.")


@router.put(
    "/mms/receipts-read",
    summary="Mark MMS delivery receipts as read",
    dependencies=NO_NULL_BODY,
)
async def mark_receipts_read(
    principal: CurrentPrincipal, conn: Conn, body: MarkRead | None = None
) -> JSONResponse:
    accounts.require(principal, "access_mms")
    await receipts.mark_read(conn, principal, CHANNEL, body.date_before if body else None)
    return envelope(None, "Receipts has been marked as read.")


@router.get("/mms/receipts/{message_id}", summary="Get a specific MMS delivery receipt")
async def get_receipt(
    request: Request,
    message_id: MessageId,
    principal: CurrentPrincipal,
    conn: Conn,
    runtime: RuntimeDep,
) -> JSONResponse:
    """The spec answers the MMS itself (status, status_code, …), as history shows it."""
    accounts.require(principal, "access_mms")
    item = await history.get_message(conn, principal, message_id)
    return envelope(rendered(request, runtime, item), "Here is your MMS receipt.")
