"""ClickSend's delivery-receipt endpoints, the same four for every channel:
`GET/POST /<channel>/receipts`, `PUT /<channel>/receipts-read`, `GET /<channel>/receipts/{id}`.
Each channel names itself and how one receipt is rendered (its SDK's receipt model); the
request bodies are SMS's (`sms_receipts.MarkRead`, `TestUrl`), one definition for all."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse

from dovecote.accounts import service as accounts
from dovecote.apis.clicksend.envelope import envelope
from dovecote.apis.clicksend.listing import ListParams, render_page
from dovecote.apis.clicksend.sms_receipts import NO_NULL_BODY, MarkRead, TestUrl
from dovecote.apis.deps import Conn, CurrentPrincipal, DetachedPrincipal, RuntimeDep
from dovecote.pipeline import receipts
from dovecote.pipeline.receipts import Receipt

MessageId = Annotated[str, Path(min_length=1, max_length=64)]
DateBefore = Annotated[
    float | None, Query(ge=0, le=2**53, description="Unix time: mark only receipts before it.")
]
Render = Callable[[Receipt], dict[str, Any]]


def receipt_router(channel: str, *, tag: str, permission: str, render: Render) -> APIRouter:
    router = APIRouter(tags=[tag])

    @router.get(f"/{channel}/receipts", summary=f"Get {tag} delivery receipts")
    async def list_receipts(
        request: Request, params: ListParams, principal: CurrentPrincipal, conn: Conn
    ) -> JSONResponse:
        accounts.require(principal, permission)
        page = await receipts.list_unread(conn, principal, channel, params)
        data = render_page(page, request, lambda row: render(receipts.receipt_from_row(row)))
        return envelope(data, "Here are your delivery receipts.")

    @router.post(f"/{channel}/receipts", summary=f"Add a test {tag} delivery receipt")
    async def add_test_receipt(
        body: TestUrl, principal: DetachedPrincipal, runtime: RuntimeDep
    ) -> JSONResponse:
        accounts.require(principal, permission)
        receipt = await receipts.send_test_receipt(
            runtime.engine,
            principal,
            channel,
            body.url,
            events=runtime.events,
            allow_private=runtime.settings.fetch_allow_private,
            timeout=runtime.settings.fetch_timeout,
        )
        return envelope(render(receipt), "Test receipt has been added.")

    @router.put(
        f"/{channel}/receipts-read",
        summary=f"Mark {tag} receipts as read",
        dependencies=NO_NULL_BODY,  # a JSON null must not read as "mark everything"
    )
    async def mark_receipts_read(
        principal: CurrentPrincipal,
        conn: Conn,
        body: MarkRead | None = None,
        date_before: DateBefore = None,
    ) -> JSONResponse:
        accounts.require(principal, permission)
        # The spec puts `date_before` in the query for voice, in the body for fax and
        # SMS (SDK 5 sends a body): either is honoured, the body first.
        before = body.date_before if body and body.date_before is not None else date_before
        await receipts.mark_read(conn, principal, channel, before)
        return envelope(None, "Receipts have been marked as read.")

    @router.get(f"/{channel}/receipts/{{message_id}}", summary=f"Get a {tag} delivery receipt")
    async def get_receipt(
        message_id: MessageId, principal: CurrentPrincipal, conn: Conn
    ) -> JSONResponse:
        accounts.require(principal, permission)
        receipt = await receipts.get_receipt(conn, principal, channel, message_id)
        return envelope(render(receipt), "Here is your result.")

    return router


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def string_receipt(receipt: Receipt) -> dict[str, Any]:
    """Voice and fax receipts: SDK 6's VoiceReceipt types every code and time as a
    string, unlike its SmsReceipt; fax (SDK 5 only, untyped) answers the same form."""
    return {
        "timestamp_send": _text(receipt.timestamp_send),
        "timestamp": _text(receipt.timestamp),
        "message_id": receipt.message_id,
        "status_code": _text(receipt.status_code),
        "status_text": receipt.status_text,
        "error_code": _text(receipt.error_code),
        "error_text": receipt.error_text,
        "custom_string": receipt.custom_string,
        "subaccount_id": receipt.user_id,
        "message_type": receipt.message_type,
    }
