"""ClickSend's transactional email: `/email/send` and `/email/price` requests.

The request names its sender by `from.email_address_id`, which must be a verified
allowed address of the caller's account; everything else is validated field by field
(each problem an InvalidInput naming the wire field) and composed into one `Email`,
which `email.queue_emails` splits per recipient, charges and queues.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection

from dovecote.accounts import service as accounts
from dovecote.channels.email import store
from dovecote.channels.email.compose import (
    AddressIn,
    AttachmentIn,
    Email,
    Mailbox,
    QueuedEmail,
    attachment,
    mailbox,
    price_emails,
    queue_emails,
)
from dovecote.core.errors import InvalidInput
from dovecote.core.models import Principal
from dovecote.pipeline.compose import parse_schedule
from dovecote.pipeline.events import EventLog
from dovecote.pipeline.pricing import PriceBook
from dovecote.settings import Settings


@dataclass(frozen=True, slots=True)
class EmailRequest:
    """ClickSend's email as the client sent it (already type-checked by the API layer)."""

    to: Sequence[AddressIn]
    email_address_id: int | str | None
    subject: str | None
    body: str | None
    from_name: str | None = None
    cc: Sequence[AddressIn] = ()
    bcc: Sequence[AddressIn] = ()
    attachments: Sequence[AttachmentIn] = ()
    schedule: int | float | str | None = None
    custom_string: str | None = None


async def sender_mailbox(
    conn: AsyncConnection, principal: Principal, address_id: int | str | None, name: str | None
) -> Mailbox:
    """The account's verified allowed address `address_id`, or InvalidInput."""
    field = "from.email_address_id"
    raw = str(address_id).strip() if address_id is not None else ""
    if not raw:
        raise InvalidInput(f"{field} is required.", field=field)
    if not raw.isdigit():
        raise InvalidInput(f"{field} must be a number.", field=field)
    row = await store.get_email_address(conn, int(raw))
    if row is None or row["account_id"] != principal.account.id:
        raise InvalidInput(f"{field} {raw} is not an email address of this account.", field=field)
    if not row["verified"]:
        raise InvalidInput(f"{field} {raw} ({row['email']}) is not verified yet.", field=field)
    return Mailbox(row["email"], (name or "").strip() or None)


async def compose(
    conn: AsyncConnection, principal: Principal, request: EmailRequest, *, now: float
) -> Email:
    def boxes(items: Sequence[AddressIn], name: str) -> list[Mailbox]:
        return [
            mailbox(item.email, item.name, f"{name}[{i}].email") for i, item in enumerate(items)
        ]

    to, cc, bcc = boxes(request.to, "to"), boxes(request.cc, "cc"), boxes(request.bcc, "bcc")
    sender = await sender_mailbox(conn, principal, request.email_address_id, request.from_name)
    attachments = [
        attachment(
            item.content,
            filename=item.filename,
            type=item.type,
            disposition=item.disposition,
            cid=item.content_id,
            field=f"attachments[{i}]",
        )
        for i, item in enumerate(request.attachments)
    ]
    schedule = parse_schedule(request.schedule, now)
    if schedule is False:
        raise InvalidInput("schedule must be a Unix timestamp within a year.", field="schedule")
    return Email(
        sender=sender,
        to=to,
        cc=cc,
        bcc=bcc,
        subject=(request.subject or "").strip(),
        html=request.body if (request.body or "").strip() else None,
        attachments=attachments,
        send_at=schedule or None,
        custom_string=request.custom_string,
        from_email_address_id=int(str(request.email_address_id)),
    )


async def send(
    conn: AsyncConnection,
    principal: Principal,
    request: EmailRequest,
    *,
    settings: Settings,
    events: EventLog,
    prices: PriceBook,
    originating_ip: str | None = None,
    now: float | None = None,
) -> QueuedEmail:
    """ClickSend `/email/send`: one email, charged per recipient (test addresses free)."""
    accounts.require(principal, "access_email")
    accounts.require_active(principal)
    moment = time.time() if now is None else now
    email = await compose(conn, principal, request, now=moment)
    queued = await queue_emails(
        conn,
        principal,
        [email],
        settings=settings,
        events=events,
        prices=prices,
        originating_ip=originating_ip,
        now=moment,
    )
    return queued.emails[0]


async def price(
    conn: AsyncConnection,
    principal: Principal,
    request: EmailRequest,
    *,
    settings: Settings,
    prices: PriceBook,
    now: float | None = None,
) -> QueuedEmail:
    """ClickSend `/email/price`: the same validation and price as `send`, nothing stored."""
    accounts.require(principal, "access_email")
    moment = time.time() if now is None else now
    email = await compose(conn, principal, request, now=moment)
    priced = price_emails(principal, [email], settings=settings, prices=prices, now=moment)
    return priced.emails[0]
