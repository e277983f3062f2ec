"""`POST /v3/email/receipts`: send a test email delivery receipt to a URL."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from dovecote.accounts import service as accounts
from dovecote.apis.clicksend.envelope import envelope
from dovecote.apis.clicksend.sms_receipts import TestUrl
from dovecote.apis.deps import DetachedPrincipal, RuntimeDep
from dovecote.channels.email import test_receipt

router = APIRouter(tags=["Transactional Email"])


@router.post("/email/receipts", summary="Add a Test Delivery Receipt")
async def add_test_receipt(
    body: TestUrl, principal: DetachedPrincipal, runtime: RuntimeDep
) -> JSONResponse:
    # Detached: no database connection is held while someone else's server answers.
    accounts.require(principal, "access_email")
    settings = runtime.settings
    receipt = await test_receipt.send_test_receipt(
        principal,
        body.url,
        allow_private=settings.fetch_allow_private,
        timeout=settings.fetch_timeout,
    )
    return envelope(receipt, "Receipt has been added.")
