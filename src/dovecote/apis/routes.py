"""Every route of every API family, mounted in one place: the whole surface at a glance."""

from __future__ import annotations

from fastapi import FastAPI

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

# Literal paths (`/sms/templates`, `/sms/receipts-read`) are registered before the
# parameterised `/sms/{message_id}/cancel`, so they are never shadowed.
CLICKSEND = (
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
)
SENDGRID = (activity, mail_send)
ROOT = (health, sandbox, tracking, emailverify)


def mount(app: FastAPI) -> None:
    # Every router straight onto the app (no intermediate `/v3` router): each level of
    # nesting is one more linear scan of routes per request.
    for module in ROOT:
        app.include_router(module.router)
    for module in (*SENDGRID, *CLICKSEND):
        app.include_router(module.router, prefix="/v3")
