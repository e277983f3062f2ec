"""`/v3/sms/receipts`: poll delivery receipts, mark them read, send a test receipt."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator

from dovecote.apis.clicksend.envelope import envelope
from dovecote.apis.clicksend.listing import ListParams, render_page
from dovecote.apis.deps import Conn, CurrentPrincipal, DetachedPrincipal, RuntimeDep
from dovecote.channels.sms import receipts
from dovecote.core.errors import InvalidInput

router = APIRouter(tags=["SMS"])

MessageId = Annotated[str, Path(min_length=1, max_length=64)]


class TestUrl(BaseModel):
    model_config = ConfigDict(extra="ignore")

    url: str = Field(min_length=1, max_length=2000, description="http(s) URL, or `poll`.")


async def refuse_null_body(request: Request) -> None:
    """A mark-read body is optional, but one that is sent must be an object: a JSON
    `null` would otherwise read as "no body" and mark everything read."""
    if (await request.body()).strip() == b"null":
        raise InvalidInput("The body must be a JSON object, or left out.", field="body")


# On the mark-read routes (the body itself stays an optional `MarkRead`).
NO_NULL_BODY = [Depends(refuse_null_body)]


class MarkRead(BaseModel):
    model_config = ConfigDict(extra="ignore")

    date_before: float | None = Field(default=None, ge=0, le=2**53)

    @field_validator("date_before", mode="before")
    @classmethod
    def _a_number(cls, value: Any) -> Any:
        # A Unix time is a JSON number (the spec's type, sent by both SDKs). Leaving the
        # field out marks everything read; `true`, `null` or "1500" must not do the same.
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError("date_before must be a Unix time in seconds")
        return value


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


@router.put(
    "/sms/receipts-read", summary="Mark delivery receipts as read", dependencies=NO_NULL_BODY
)
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
