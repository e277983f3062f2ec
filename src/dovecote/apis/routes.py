"""Every route of every API family, mounted in one place: the whole surface at a glance."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from dovecote.apis import health, sandbox
from dovecote.apis.clicksend import (
    account,
    reference,
    sms,
    sms_history,
    sms_inbound,
    sms_receipts,
    sms_templates,
    subaccounts,
)


def clicksend_router() -> APIRouter:
    v3 = APIRouter(prefix="/v3")
    # sms_templates and sms_receipts come before sms: `/sms/{message_id}/cancel` style
    # routes must not shadow `/sms/templates/...` or `/sms/receipts-read`.
    for module in (
        account,
        subaccounts,
        reference,
        sms_templates,
        sms_receipts,
        sms_inbound,
        sms_history,
        sms,
    ):
        v3.include_router(module.router)
    return v3


def mount(app: FastAPI) -> None:
    app.include_router(health.router)
    app.include_router(sandbox.router)
    app.include_router(clicksend_router())
