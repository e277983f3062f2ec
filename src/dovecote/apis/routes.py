"""Every route of every API family, mounted in one place: the whole surface at a glance."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from dovecote.apis import emailverify, health, sandbox, tracking
from dovecote.apis.clicksend import (
    account,
    email,
    email_addresses,
    email_templates,
    master_templates,
    reference,
    sms,
    sms_history,
    sms_inbound,
    sms_receipts,
    sms_templates,
    subaccounts,
)
from dovecote.apis.sendgrid import activity, mail_send


def clicksend_router() -> APIRouter:
    v3 = APIRouter(prefix="/v3")
    # Literal paths (`/sms/templates`, `/sms/receipts-read`) are registered before the
    # parameterised `/sms/{message_id}/cancel`, so they are never shadowed.
    for module in (
        account,
        subaccounts,
        reference,
        sms_templates,
        sms_receipts,
        sms_inbound,
        sms_history,
        sms,
        email_addresses,
        email_templates,
        master_templates,
        email,
    ):
        v3.include_router(module.router)
    return v3


def sendgrid_router() -> APIRouter:
    v3 = APIRouter(prefix="/v3")
    for module in (activity, mail_send):
        v3.include_router(module.router)
    return v3


def mount(app: FastAPI) -> None:
    app.include_router(health.router)
    app.include_router(sandbox.router)
    app.include_router(tracking.router)
    app.include_router(emailverify.router)
    app.include_router(sendgrid_router())
    app.include_router(clicksend_router())
