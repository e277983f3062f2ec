"""Email: validate, price and queue messages; every API that sends email comes here.

An email to several recipients (to, cc and bcc) becomes one `messages` row per
recipient, because each recipient has its own delivery, bounce, opens and clicks — the
unit Email Activity reports on. Each row gets its own built MIME (its own Message-ID and
signed tracking URLs); the email's first row stands for the whole email in ClickSend's
history and carries the full request in its payload, the others point to it
(`group_id`).

Entry points (ClickSend's request shape is composed in `transactional_email`):

    queue_emails            any adapter: validated `Email` drafts, charged, with
                            categories, custom args, template id, tracking, send_at
    price_emails            the same validation and prices, nothing written
    system_mail.SystemMailer platform mail (sender verification, EmailVerify codes,
                            export links): free, `source = "system"`

Both writers work in the caller's transaction: rows, debit, payloads, content and the
`processed` events (through the event sinks) commit or roll back together.
"""

from __future__ import annotations

import base64
import binascii
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Final, Literal

from email_validator import EmailNotValidError, validate_email
from sqlalchemy.ext.asyncio import AsyncConnection

from dovecote.accounts import service as accounts
from dovecote.channels.email import store, suppressions, tracking
from dovecote.channels.email.mime import (
    Attachment,
    Content,
    Mailbox,
    build,
    content_id,
    html_to_text,
)
from dovecote.core.errors import DomainError, InvalidInput
from dovecote.core.ids import new_id
from dovecote.core.models import Principal
from dovecote.core.money import to_micros
from dovecote.pipeline import queue as message_store
from dovecote.pipeline import status as st
from dovecote.pipeline.events import Event, EventLog
from dovecote.pipeline.outbound import MAX_MESSAGES, Outbound, accept
from dovecote.pipeline.pricing import PriceBook, client_price
from dovecote.settings import Settings

CHANNEL: Final = "email"
# The spec's Testing section (plus the bare test@test.com): success, nothing sent or charged.
TEST_ADDRESSES: Final = frozenset(
    {"test@test.com", "test1@test.com", "test2@test.com", "test3@test.com"}
)
DROPPED: Final = "DROPPED"  # Outbound status of a suppressed recipient (never queued)
# Rules every adapter shares (ClickSend's /email/send, SendGrid's mail/send): defined
# once here, worded by each adapter in its own API's language.
MAX_SUBJECT: Final = 998  # RFC 5322 line limit; folding makes longer legal, but nobody reads it
MAX_CATEGORIES: Final = 10  # SendGrid's limit
RecipientKind = Literal["to", "cc", "bcc"]
HEADER_NAME: Final = re.compile(r"[!-9;-~]{1,76}")  # RFC 5322 ftext: printable ASCII but ":"
# C0 and C1 controls, DEL, and the Unicode line and paragraph separators.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")

__all__ = [
    "CHANNEL",
    "HEADER_NAME",
    "MAX_CATEGORIES",
    "MAX_SUBJECT",
    "TEST_ADDRESSES",
    "AddressIn",
    "Attachment",
    "AttachmentIn",
    "Email",
    "InsufficientCredit",
    "Mailbox",
    "Queued",
    "QueuedEmail",
    "Tracking",
    "attachment",
    "mailbox",
    "price_emails",
    "queue_emails",
]


class InsufficientCredit(DomainError):
    status = 400
    code = "INSUFFICIENT_CREDIT"


@dataclass(frozen=True, slots=True)
class Tracking:
    opens: bool = False
    clicks: bool = False

    @classmethod
    def for_account(cls, settings: Mapping[str, Any]) -> Tracking:
        """The account's switches (`accounts.settings`), off unless turned on."""
        return cls(
            opens=_switch(settings.get("email_open_tracking")),
            clicks=_switch(settings.get("email_click_tracking")),
        )


def _switch(value: Any) -> bool:
    # Settings arrive as JSON booleans, 0/1 (ClickSend's style) or strings: "0" is off.
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


@dataclass(frozen=True, slots=True)
class AddressIn:
    """An address as a client sent it, before `mailbox()` checks it; ClickSend's and
    SendGrid's request shapes share it."""

    email: str | None
    name: str | None = None


@dataclass(frozen=True, slots=True)
class AttachmentIn:
    """An attachment as a client sent it (base64 text), before `attachment()` checks it;
    ClickSend's and SendGrid's request shapes share it."""

    content: str | None
    filename: str | None = None
    type: str | None = None
    disposition: str | None = None
    content_id: str | None = None


@dataclass(frozen=True, slots=True)
class Email:
    """One email after validation, before it is split into one message per recipient.

    Build mailboxes with `mailbox()` and attachments with `attachment()`, which raise
    InvalidInput naming the field; `queue_emails` checks the rest (subject, body, sizes).
    """

    sender: Mailbox
    to: Sequence[Mailbox]
    subject: str
    html: str | None = None
    text: str | None = None
    cc: Sequence[Mailbox] = ()
    bcc: Sequence[Mailbox] = ()
    reply_to: Mailbox | None = None
    attachments: Sequence[Attachment] = ()
    headers: Mapping[str, str] = field(default_factory=dict)
    send_at: int | None = None  # Unix seconds; None sends now
    categories: Sequence[str] = ()
    unique_args: Mapping[str, str] = field(default_factory=dict)
    template_id: str | None = None
    template_version_id: str | None = None  # the dynamic template version it rendered
    asm_group_id: int | None = None  # SendGrid unsubscribe group
    custom_string: str | None = None
    from_email_address_id: int | None = None
    tracking: Tracking | None = None  # None: the account's switches


@dataclass(slots=True)
class QueuedEmail:
    email: Email
    recipients: list[Outbound]  # to, cc, bcc in request order; `extra["kind"]`
    currency: str
    created_at: int

    @property
    def id(self) -> str | None:
        """The first recipient's message id, which stands for the email."""
        return self.recipients[0].id if self.recipients else None

    @property
    def price_micros(self) -> int:
        return sum(item.price_micros for item in self.recipients if item.ok)

    @property
    def status(self) -> str:
        """The delivery-status word of the email's first recipient."""
        first = self.recipients[0]
        if first.status == DROPPED:
            return "dropped"
        return st.TEST if first.is_test else st.QUEUED


@dataclass(frozen=True, slots=True)
class Queued:
    emails: Sequence[QueuedEmail]
    currency: str

    @property
    def total_price_micros(self) -> int:
        return sum(email.price_micros for email in self.emails)

    @property
    def message_ids(self) -> list[str]:
        return [item.id for email in self.emails for item in email.recipients if item.id]


# --- validation -------------------------------------------------------------------------


def mailbox(address: str | None, name: str | None, field: str) -> Mailbox:
    """A validated, normalised address (IDN domains in ASCII form) or InvalidInput."""
    if not address or not address.strip():
        raise InvalidInput(f"{field} is required.", field=field)
    try:
        # No DNS lookups: a send must not wait on, or fail with, the resolver.
        valid = validate_email(address.strip(), check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as exc:
        raise InvalidInput(f"{field} is not a valid email address: {exc}", field=field) from None
    return Mailbox(valid.ascii_email or valid.normalized, (name or "").strip() or None)


def attachment(
    content: str | None,
    *,
    filename: str | None,
    type: str | None = None,
    disposition: str | None = None,
    cid: str | None = None,
    field: str,
) -> Attachment:
    """Decode one base64 attachment strictly; every problem names `field`."""
    if content is None or content == "":
        raise InvalidInput(f"{field}.content is required.", field=f"{field}.content")
    try:
        data = base64.b64decode("".join(content.split()), validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput(
            f"{field}.content is not valid base64.", field=f"{field}.content"
        ) from None
    if filename and _CONTROL.search(filename):
        # A line break in the Content-Disposition parameter is header injection; the
        # email package refuses it when the message is built (HeaderParseError, a 500).
        raise InvalidInput(
            f"{field}.filename may not contain line breaks or control characters.",
            field=f"{field}.filename",
        )
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1].strip()
    if not name:
        raise InvalidInput(f"{field}.filename is required.", field=f"{field}.filename")
    mime_type = (type or "application/octet-stream").strip().lower()
    major, slash, minor = mime_type.partition("/")
    if not slash or not major or not minor or any(c in mime_type for c in ' ;\r\n"'):
        raise InvalidInput(
            f"{field}.type must be a MIME type like image/png.", field=f"{field}.type"
        )
    kind = (disposition or "attachment").strip().lower()
    if kind not in ("attachment", "inline"):
        raise InvalidInput(
            f"{field}.disposition must be attachment or inline.", field=f"{field}.disposition"
        )
    cid = content_id(cid) if cid else None
    if cid is not None and any(c in cid for c in " <>\r\n"):
        raise InvalidInput(f"{field}.content_id is not valid.", field=f"{field}.content_id")
    return Attachment(data, name, mime_type, "inline" if kind == "inline" else "attachment", cid)


def _check(email: Email, settings: Settings) -> None:
    if not email.to:
        raise InvalidInput("to must hold at least one recipient.", field="to")
    count = len(email.to) + len(email.cc) + len(email.bcc)
    if count > MAX_MESSAGES:
        raise InvalidInput(
            f"Too many recipients: at most {MAX_MESSAGES} per email.",
            code="TOO_MANY_RECIPIENTS",
            field="to",
        )
    if not email.subject or not email.subject.strip():
        raise InvalidInput("subject is required.", field="subject")
    if len(email.subject) > MAX_SUBJECT:
        raise InvalidInput(f"subject is longer than {MAX_SUBJECT} characters.", field="subject")
    if not (email.html or "").strip() and not (email.text or "").strip():
        raise InvalidInput("body is required.", field="body")
    size = sum(len(item.content) for item in email.attachments)
    if size > settings.email_max_attachment_bytes:
        raise InvalidInput(
            f"attachments total {size} bytes; the limit is "
            f"{settings.email_max_attachment_bytes} bytes.",
            field="attachments",
        )
    if len(email.categories) > MAX_CATEGORIES:
        raise InvalidInput(f"at most {MAX_CATEGORIES} categories.", field="categories")
    for name in email.headers:
        if not HEADER_NAME.fullmatch(name):
            raise InvalidInput(f"headers: {name!r} is not a valid header name.", field="headers")


# --- queueing -----------------------------------------------------------------------------


def _recipients(email: Email, principal: Principal, prices: PriceBook | None) -> list[Outbound]:
    """One Outbound per distinct recipient address (an address in both to and bcc gets one)."""
    unit = (
        to_micros(prices.unit_price(CHANNEL, principal.account.currency, "").quantize(_MICRO))
        if prices is not None
        else 0
    )
    seen: set[str] = set()
    items: list[Outbound] = []
    kinds: tuple[tuple[RecipientKind, Sequence[Mailbox]], ...] = (
        ("to", email.to),
        ("cc", email.cc),
        ("bcc", email.bcc),
    )
    for kind, boxes in kinds:
        for box in boxes:
            key = box.email.lower()
            if key in seen:
                continue
            seen.add(key)
            is_test = key in TEST_ADDRESSES
            items.append(
                Outbound(
                    channel=CHANNEL,
                    recipient=box.email,
                    body=email.html if email.html is not None else (email.text or ""),
                    sender=email.sender.email,
                    subject=email.subject,
                    encoding="UTF-8",
                    price_micros=0 if is_test else unit,
                    schedule=email.send_at,
                    custom_string=email.custom_string,
                    is_test=is_test,
                    extra={"kind": kind, "name": box.name},
                )
            )
    return items


_MICRO = Decimal("0.000001")


def price_emails(
    principal: Principal,
    emails: Sequence[Email],
    *,
    settings: Settings,
    prices: PriceBook,
    now: float | None = None,
) -> Queued:
    """What `queue_emails` would charge, after the same validation; nothing is written
    (suppressed recipients, which would be dropped free, are still priced)."""
    created = int(time.time() if now is None else now)
    for email in emails:
        _check(email, settings)
    queued = [
        QueuedEmail(
            email, _recipients(email, principal, prices), principal.account.currency, created
        )
        for email in emails
    ]
    # What `outbound.accept` will charge a reseller's client: its reseller's margin on top.
    for group in queued:
        for item in group.recipients:
            item.price_micros = client_price(item.price_micros, principal.account.settings)
    return Queued(queued, principal.account.currency)


async def queue_emails(
    conn: AsyncConnection,
    principal: Principal,
    emails: Sequence[Email],
    *,
    settings: Settings,
    events: EventLog,
    prices: PriceBook | None,
    api_key_id: str | None = None,
    originating_ip: str | None = None,
    now: float | None = None,
    source: str | None = None,
) -> Queued:
    """Queue validated emails: one message per recipient, charged at the account's email
    price (`prices=None`: free), suppressed recipients dropped, test addresses settled.
    `source` is stored on every row (`messages.source`): "system" marks Dovecote's own
    mail, which ClickSend's email history leaves out.

    All or nothing: raises InvalidInput for a bad draft and InsufficientCredit when the
    balance does not cover every recipient, before anything is written (a concurrent
    debit can still win the race; then the rows already written are the caller's to roll
    back, which the request transaction does). Writes `processed` (and `dropped`) events
    through the event sinks, so Email Activity sees each message at once.
    """
    moment = time.time() if now is None else now
    accounts.require_active(principal)
    for email in emails:
        _check(email, settings)
    queued = [
        QueuedEmail(email, _recipients(email, principal, prices), principal.account.currency, 0)
        for email in emails
    ]
    for group in queued:
        # Ids chosen up front so each row is inserted with its group link, not updated after.
        first = group.recipients[0]
        for item in group.recipients:
            item.id = new_id()
            item.group_id = None if item is first else first.id
    everyone = [item for group in queued for item in group.recipients]
    for item in everyone:
        item.source = source
    blocked = await suppressions.find(conn, principal.account.id, (i.recipient for i in everyone))
    for item in everyone:
        kind = blocked.get(item.recipient.lower())
        if kind is not None and not item.is_test:
            item.status, item.price_micros = DROPPED, 0
            item.extra["drop_reason"] = suppressions.drop_reason(kind)
    payable = [item for item in everyone if item.ok]
    total = sum(item.price_micros for item in payable)
    if total and await message_store.balance(conn, principal.account.id) < total:
        raise InsufficientCredit("Not enough credit to send this email to every recipient.")
    # Email has no throttle window: a repeated transactional mail (a second password
    # reset) is legitimate, unlike a repeated SMS.
    # No `queued` events: `_store` writes each email's `processed` event, which is what
    # Email Activity and the statistics count as accepted (a `queued` too would count twice).
    await accept(conn, principal, payable, now=moment, throttle_window=0, events=None)
    if any(item.status == "INSUFFICIENT_CREDIT" for item in payable):
        raise InsufficientCredit("Not enough credit to send this email to every recipient.")
    created = int(moment)
    for group in queued:
        group.created_at = created
    await _store(conn, principal, queued, settings, events, api_key_id, originating_ip, moment)
    return Queued(queued, principal.account.currency)


async def _store(
    conn: AsyncConnection,
    principal: Principal,
    queued: Sequence[QueuedEmail],
    settings: Settings,
    log: EventLog,
    api_key_id: str | None,
    originating_ip: str | None,
    now: float,
) -> None:
    """Everything beside the queued rows: dropped rows, groups, payloads, MIME, events."""
    key_id = api_key_id
    if key_id is None and principal.api_key_id is not None:
        key_id = str(principal.api_key_id)
    dropped_rows: list[dict[str, Any]] = []
    payloads: list[dict[str, Any]] = []
    contents: list[dict[str, Any]] = []
    events: list[Event] = []
    expires = int(now) + settings.email_tracking_ttl
    signer = tracking.Signer(settings.secret_key, settings.public_base(), expires)
    for group in queued:
        email = group.email
        switches = email.tracking or Tracking.for_account(principal.account.settings)
        # Derived once per email from the original HTML: the text part carries no tracking.
        plain = email.text if email.text is not None else html_to_text(email.html or "")
        for item in group.recipients:
            if item.status == DROPPED:
                dropped_rows.append(_dropped_row(item, principal, now))
        first = group.recipients[0]
        assert first.id is not None
        payloads.append({"message_id": first.id, "payload": _group_payload(group, plain)})
        for item in group.recipients:
            assert item.id is not None
            if item is not first:
                payloads.append({"message_id": item.id, "payload": {"kind": item.extra["kind"]}})
            events.append(
                _event(
                    item,
                    principal,
                    "processed",
                    now,
                    _processed(item, email, key_id, originating_ip),
                )
            )
            if item.status == DROPPED:
                reason = item.extra["drop_reason"]
                events.append(_event(item, principal, "dropped", now, {"reason": reason}))
                continue
            html = email.html
            if html is not None and not item.is_test:
                html = tracking.instrument(
                    html,
                    message_id=item.id,
                    signer=signer,
                    opens=switches.opens,
                    clicks=switches.clicks,
                )
            raw = build(
                Content(
                    message_id=_message_id_header(item.id, email.sender.email),
                    sender=email.sender,
                    to=email.to,
                    cc=email.cc,
                    reply_to=email.reply_to,
                    subject=email.subject,
                    html=html,
                    text=plain,
                    attachments=email.attachments,
                    headers={**email.headers, "X-Message-Id": item.id},
                    date=now,
                )
            )
            contents.append({"message_id": item.id, "content": raw})
    await store.insert_messages(conn, dropped_rows)
    await store.insert_payloads(conn, payloads)
    await store.insert_contents(conn, contents)
    await log.record(conn, events)


def _message_id_header(message_id: str, sender: str) -> str:
    domain = sender.rpartition("@")[2] or "dovecote.localhost"
    return f"{message_id.lower()}@{domain}"


def _group_payload(group: QueuedEmail, plain: str) -> dict[str, Any]:
    email = group.email

    def people(kind: str) -> list[dict[str, Any]]:
        boxes = {"to": email.to, "cc": email.cc, "bcc": email.bcc}[kind]
        return [{"email": box.email, "name": box.name} for box in boxes]

    return {
        "kind": group.recipients[0].extra["kind"],
        "from_name": email.sender.name,
        "from_email_address_id": email.from_email_address_id,
        "to": people("to"),
        "cc": people("cc"),
        "bcc": people("bcc"),
        "body_plain_text": plain,
        "attachments": [
            {
                "file_name": item.filename,
                "content_type": item.type,
                "content_disposition": item.disposition,
                "content_id": item.content_id,
                "size": len(item.content),
            }
            for item in email.attachments
        ],
    }


def _processed(
    item: Outbound, email: Email, api_key_id: str | None, originating_ip: str | None
) -> dict[str, Any]:
    """What Email Activity shows about a message; the activity sink indexes it."""
    return {
        "msg_id": item.id,
        "from_email": email.sender.email,
        "from_name": email.sender.name,
        "to_email": item.recipient,
        "recipient_kind": item.extra["kind"],
        "subject": email.subject,
        "template_id": email.template_id,
        "template_version_id": email.template_version_id,
        "asm_group_id": email.asm_group_id,
        "api_key_id": api_key_id,
        "originating_ip": originating_ip,
        "categories": list(dict.fromkeys(email.categories)),
        "unique_args": dict(email.unique_args),
        "is_test": item.is_test,
        "send_at": email.send_at,
    }


def _event(
    item: Outbound, principal: Principal, kind: str, now: float, data: dict[str, Any]
) -> Event:
    assert item.id is not None
    return Event(item.id, principal.account.id, principal.user.id, CHANNEL, kind, now, data)


def _dropped_row(item: Outbound, principal: Principal, now: float) -> dict[str, Any]:
    created = int(now)
    return {
        "id": item.id,
        "account_id": principal.account.id,
        "user_id": principal.user.id,
        "channel": CHANNEL,
        "direction": "out",
        "sender": item.sender,
        "recipient": item.recipient,
        "subject": item.subject,
        "body": item.body,
        "body_hash": item.body_hash,
        "encoding": item.encoding,
        "price_micros": 0,
        "currency": principal.account.currency,
        "custom_string": item.custom_string,
        "source": item.source,
        "group_id": item.group_id,
        "status": st.FAILED,
        "status_text": "Dropped",
        "error_code": "dropped",
        "error_text": item.extra["drop_reason"],
        "schedule": item.schedule,
        "due_at": None,
        "created_at": created,
        "updated_at": created,
    }
