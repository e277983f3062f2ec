"""SendGrid's v3 Mail Send (`POST /v3/mail/send`): its JSON, already type-checked by the
API layer, composed into `Email` drafts for `email.queue_emails`.

Each personalization becomes one `Email` (its own to/cc/bcc, subject, custom args,
headers, send_at and substitutions over the request's), so each of its recipients becomes
one message with its own id, events and Email Activity row. Errors name the field the way
SendGrid does (`personalizations.0.to.1.email`), with SendGrid's wording where it has one.
The checks run in three steps, so that a request is refused as SendGrid would refuse it
and before anything is written:

    build           pure: every 400 about the request's shape and values
    compose         + the template a `template_id` names (400), verified senders (403)
    send            + price, credit, queue (400 when the balance does not cover it)

The `from` address must be a verified allowed address of the account (SendGrid's "verified
Sender Identity"), unless the account setting `sendgrid_unverified_from` is on.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncConnection

from dovecote.accounts import service as accounts
from dovecote.channels.email import addresses_store as address_store
from dovecote.channels.email import dynamic_templates
from dovecote.channels.email import templates as email_templates
from dovecote.channels.email.compose import (
    HEADER_NAME,
    MAX_CATEGORIES,
    MAX_SUBJECT,
    AddressIn,
    AttachmentIn,
    Email,
    InsufficientCredit,
    Mailbox,
    Queued,
    Tracking,
    attachment,
    mailbox,
    price_emails,
    queue_emails,
)
from dovecote.channels.email.mime import RESERVED_HEADERS, Attachment
from dovecote.core.errors import Forbidden, InvalidInput, NotFound
from dovecote.core.models import Principal
from dovecote.core.templating import (
    RenderTimeout,
    TemplateError,
    TooLarge,
    byte_size,
    render_variables,
)
from dovecote.pipeline.events import EventLog
from dovecote.pipeline.pricing import PriceBook
from dovecote.settings import Settings

PERMISSION: Final = "access_email"
UNVERIFIED_FROM_SETTING: Final = "sendgrid_unverified_from"  # accounts.settings switch
MAX_PERSONALIZATIONS: Final = 1000
MAX_RECIPIENTS: Final = 1000  # to + cc + bcc over the whole request
MAX_CATEGORY: Final = 255
MAX_CUSTOM_ARGS_BYTES: Final = 10_000  # merged, per personalization, as JSON
MAX_CUSTOM_ARG_KEY: Final = 255  # Dovecote's: the Email Activity index keys on it
MAX_TEMPLATE_ID: Final = 64  # Dovecote's: the Email Activity column's width
MAX_SCHEDULE_AHEAD: Final = 72 * 3600  # SendGrid schedules at most 72 hours ahead
MAX_GROUPS_TO_DISPLAY: Final = 25
# SendGrid's cap on one email: its text, HTML and subject with substitutions applied,
# plus its headers and (decoded) attachments.
MAX_MESSAGE_BYTES: Final = 30 * 1024 * 1024
# All the emails of one request together (Dovecote's: substitutions multiply a small
# request into much larger messages). Settings.mail_send_max_total_bytes sets it.
MAX_TOTAL_BYTES: Final = 60 * 1024 * 1024
# Rendering every template of one request, in seconds (Dovecote's: a thousand
# personalizations of a heavy template must not hold the server for minutes).
MAX_RENDER_SECONDS: Final = 5.0
_INT32: Final = 2**31 - 1  # Dovecote's template ids are 32-bit integers
# SendGrid's reserved headers, plus those Dovecote's MIME builder owns (Date, Message-ID,
# the Content-* of the body) and X-Message-Id, which carries each message's own id.
RESERVED: Final = frozenset(
    {"x-sg-id", "x-sg-eid", "received", "dkim-signature", "x-message-id"} | RESERVED_HEADERS
)
UNVERIFIED_SENDER: Final = (
    "The from address does not match a verified Sender Identity. Mail cannot be sent until "
    "this error is resolved. Add the address with POST /v3/email/addresses and verify it "
    "(PUT /v3/email/address-verify/{id}/send mails the link), or turn on the account "
    "setting sendgrid_unverified_from."
)


# --- the request, as the API layer hands it over ------------------------------------------


@dataclass(frozen=True, slots=True)
class PersonalizationIn:
    to: Sequence[AddressIn] = ()
    cc: Sequence[AddressIn] = ()
    bcc: Sequence[AddressIn] = ()
    sender: AddressIn | None = None  # `from`: overrides the request's
    subject: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    substitutions: Mapping[str, str] = field(default_factory=dict)
    dynamic_template_data: Mapping[str, Any] = field(default_factory=dict)
    custom_args: Mapping[str, str] = field(default_factory=dict)
    send_at: int | None = None


@dataclass(frozen=True, slots=True)
class ContentIn:
    type: str | None
    value: str | None


@dataclass(frozen=True, slots=True)
class MailRequest:
    """SendGrid's mail/send body. Fields Dovecote does not act on (batch_id, ip_pool_name,
    most mail_settings, sections) are not carried here; the API layer ignores them."""

    personalizations: Sequence[PersonalizationIn]
    sender: AddressIn | None  # `from`
    subject: str | None = None
    content: Sequence[ContentIn] = ()
    attachments: Sequence[AttachmentIn] = ()
    reply_to: AddressIn | None = None
    reply_to_list: Sequence[AddressIn] = ()
    categories: Sequence[str] = ()
    custom_args: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    send_at: int | None = None
    template_id: str | None = None
    asm_group_id: int | None = None
    asm_groups_to_display: Sequence[int] = ()
    open_tracking: bool | None = None  # None: the account's switch
    click_tracking: bool | None = None
    sandbox_mode: bool = False  # mail_settings.sandbox_mode.enable: validate, send nothing


@dataclass(frozen=True, slots=True)
class Body:
    """The content every personalization starts from, before its substitutions."""

    text: str | None = None
    html: str | None = None
    subject: str | None = None  # a dynamic template's, under the request's
    template_id: str | None = None  # the dynamic template and version it came from
    version_id: str | None = None


@dataclass(frozen=True, slots=True)
class Draft:
    """An email before its sender is checked; `sender_field` names where `from` came from."""

    email: Email
    sender_field: str


@dataclass(frozen=True, slots=True)
class Sent:
    """`message_id` is the `X-Message-Id` answer: the id of the first recipient's message
    (None in sandbox mode, when nothing is queued)."""

    message_id: str | None
    queued: Queued | None = None


# --- entry points -------------------------------------------------------------------------


async def send(
    conn: AsyncConnection,
    principal: Principal,
    request: MailRequest,
    *,
    settings: Settings,
    events: EventLog,
    prices: PriceBook,
    originating_ip: str | None = None,
    now: float | None = None,
) -> Sent:
    """Validate, compose and queue a mail/send request: all of it or, on any error,
    nothing. The API key used (`principal.api_key_id`), `originating_ip`, categories,
    custom args and template id reach Email Activity through the `processed` events."""
    accounts.require(principal, PERMISSION)
    accounts.require_active(principal)
    moment = time.time() if now is None else now
    emails = await compose(
        conn,
        principal,
        request,
        now=moment,
        max_total_bytes=settings.mail_send_max_total_bytes,
    )
    if request.sandbox_mode:
        # SendGrid's sandbox mode: a valid request answers 200 and nothing is sent.
        price_emails(principal, emails, settings=settings, prices=prices, now=moment)
        return Sent(None)
    try:
        queued = await queue_emails(
            conn,
            principal,
            emails,
            settings=settings,
            events=events,
            prices=prices,
            originating_ip=originating_ip,
            now=moment,
        )
    except InsufficientCredit:
        raise InsufficientCredit(
            "Not enough credit: the account's balance does not cover every recipient of "
            "this request, so nothing was sent."
        ) from None
    return Sent(queued.emails[0].id, queued)


async def compose(
    conn: AsyncConnection,
    principal: Principal,
    request: MailRequest,
    *,
    now: float,
    max_total_bytes: int = MAX_TOTAL_BYTES,
) -> list[Email]:
    """The request's emails, each from a verified sender; raises InvalidInput (400) or
    Forbidden (403, an unverified `from`)."""
    body: Body | None
    if _is_dynamic(request.template_id):
        # A dynamic template supplies subject, HTML and text; `content` is not needed.
        body = await dynamic_body(conn, principal, request.template_id or "")
    else:
        body = content_body(request)
    if body is None:
        body = await template_body(conn, principal, request.template_id)
    account = Tracking.for_account(principal.account.settings)
    if request.template_id is None:
        drafts = build(
            request, body, now=now, account_tracking=account, max_total_bytes=max_total_bytes
        )
    else:  # templates render in a thread (bounded in time): the event loop goes on
        drafts = await asyncio.to_thread(
            build,
            request,
            body,
            now=now,
            account_tracking=account,
            max_total_bytes=max_total_bytes,
        )
    return await verify_senders(conn, principal, drafts)


def content_body(request: MailRequest) -> Body | None:
    """The text and HTML of `content`, or None when a `template_id` is to supply them.

    SendGrid's order rule: text/plain first, then text/html, then any other types, which
    Dovecote accepts and leaves out of the message (text/calendar, AMP)."""
    kinds: list[str] = []
    for i, item in enumerate(request.content):
        kind = (item.type or "").strip().lower()
        if not kind:
            raise _invalid(
                f"content.{i}.type",
                "A content type is required, this tells email clients how to display the email.",
            )
        if any(c in kind for c in ";\r\n"):
            raise _invalid(f"content.{i}.type", "Cannot contain ';', or CRLF characters.")
        if not item.value:
            raise _invalid(
                f"content.{i}.value",
                "The content value must be a string at least one character in length.",
            )
        kinds.append(kind)
    readable = [kind for kind in kinds if kind in ("text/plain", "text/html")]
    if kinds[: len(readable)] != readable or readable not in (
        [],
        ["text/plain"],
        ["text/html"],
        ["text/plain", "text/html"],
    ):
        raise _invalid(
            "content",
            "Following RFC 1341, section 7.2, if either text/html or text/plain are to be "
            "sent in your email: text/plain needs to be first, followed by text/html, "
            "followed by any other content.",
        )
    if readable:
        values = {kind: item.value for kind, item in zip(kinds, request.content, strict=True)}
        if not any((values[kind] or "").strip() for kind in readable):
            # Whitespace is a character to SendGrid, but an email of nothing but it is empty.
            raise _invalid(
                "content.0.value",
                "The content value must contain at least one character that is not whitespace.",
            )
        return Body(text=values.get("text/plain"), html=values.get("text/html"))
    if request.template_id is None:
        raise _invalid(
            "content",
            "Unless a valid template_id is provided, the content parameter is required. "
            "There must be at least one defined content block of type text/plain or "
            "text/html.",
        )
    return None


async def template_body(
    conn: AsyncConnection, principal: Principal, template_id: str | None
) -> Body:
    """The HTML of the account's email template `template_id` (the ids of
    `/v3/email/templates`); SendGrid's own template ids name nothing here."""
    raw = (template_id or "").strip()
    problem = _invalid(
        "template_id",
        f"The template_id must be a valid template id for your account. You provided "
        f"{template_id!r}; without content, it must be the id of one of the account's "
        "email templates (GET /v3/email/templates).",
    )
    if not raw.isdigit() or int(raw) > _INT32:
        raise problem
    try:
        template = await email_templates.get_template(conn, principal, int(raw))
    except NotFound:
        raise problem from None
    return Body(html=template.body)


def _is_dynamic(template_id: str | None) -> bool:
    return (template_id or "").strip().startswith("d-")


async def dynamic_body(conn: AsyncConnection, principal: Principal, template_id: str) -> Body:
    """The active version of the account's dynamic template `template_id`."""
    raw = template_id.strip()
    version = await dynamic_templates.active_for_sending(conn, principal, raw)
    if version is None:
        raise _invalid(
            "template_id",
            f"The template_id must be a valid template id for your account. You provided "
            f"{template_id!r}, which is not one of the account's dynamic templates with an "
            "active version (GET /v3/templates?generations=dynamic).",
        )
    return Body(
        text=version.plain_content or None,
        html=version.html_content or None,
        subject=version.subject or None,
        template_id=raw,
        version_id=version.id,
    )


def build(
    request: MailRequest,
    body: Body,
    *,
    now: float,
    account_tracking: Tracking = Tracking(),
    max_total_bytes: int = MAX_TOTAL_BYTES,
) -> list[Draft]:
    """One draft per personalization; every 400 the request deserves, none of them
    needing the database. Senders are as given, not yet checked.

    Substitutions and template data are applied within a byte budget: each email within
    MAX_MESSAGE_BYTES, all of them within `max_total_bytes`, refused as soon as the
    expansion passes either (a 60 KB body of tags can otherwise expand to gigabytes)."""
    count = len(request.personalizations)
    if count == 0:
        raise _invalid("personalizations", "You must have at least one personalization.")
    if count > MAX_PERSONALIZATIONS:
        raise _invalid(
            "personalizations",
            f"The personalization block is limited to {MAX_PERSONALIZATIONS} "
            f"personalizations per API request. You have provided {count} "
            "personalizations. Please consider splitting this into multiple requests and "
            "resending your request.",
        )
    recipients = sum(len(p.to) + len(p.cc) + len(p.bcc) for p in request.personalizations)
    if recipients > MAX_RECIPIENTS:
        raise _invalid(
            "personalizations",
            f"There is a limit of {MAX_RECIPIENTS} total recipients (to + cc + bcc) per "
            f"request. You have provided {recipients}.",
        )
    sender = _sender(request.sender, "from")
    reply_to = _reply_to(request)
    if request.subject is not None:
        _check_subject(request.subject, "subject")
    categories = _categories(request.categories)
    _check_args(request.custom_args, "custom_args")
    _check_headers(request.headers, "headers")
    send_at = _send_at(request.send_at, "send_at", now)
    template_id = _template_id(request.template_id)
    _check_asm(request)
    attachments = _attachments(request.attachments)
    attachment_bytes = sum(len(item.content) for item in attachments)
    tracking = _tracking(request, account_tracking)
    total_left = max_total_bytes
    deadline = time.monotonic() + MAX_RENDER_SECONDS
    drafts = []
    for i, person in enumerate(request.personalizations):
        where = f"personalizations.{i}"
        to, cc, bcc = _recipients(person, where)
        own_sender = person.sender is not None
        subject = person.subject if person.subject is not None else request.subject
        if body.subject is not None:  # a dynamic template's subject wins, as in SendGrid
            subject = body.subject
        if subject is None:
            raise _invalid(
                "subject",
                "The subject is required. You can get around this requirement if you use a "
                "template with a subject defined or if every personalization has a subject "
                "defined.",
            )
        if person.subject is not None:
            _check_subject(person.subject, f"{where}.subject")
        _check_args(person.custom_args, f"{where}.custom_args")
        args = {**request.custom_args, **person.custom_args}
        size = len(json.dumps(args, ensure_ascii=False).encode())
        if size > MAX_CUSTOM_ARGS_BYTES:
            raise _invalid(
                f"{where}.custom_args",
                "The combined size of both global and personalization custom arguments may "
                f"not exceed {MAX_CUSTOM_ARGS_BYTES:,} bytes per personalization.",
            )
        _check_headers(person.headers, f"{where}.headers")
        headers = _merge_headers(request.headers, person.headers)
        fixed = attachment_bytes + sum(byte_size(k) + byte_size(v) for k, v in headers.items())
        budget = _Budget(MAX_MESSAGE_BYTES - fixed, total_left - fixed)
        fill = _filler(
            person, template_id is not None, always=body.version_id is not None, deadline=deadline
        )
        try:
            filled_subject = budget.spend(fill(subject, False, budget.left))
            filled_html = (
                budget.spend(fill(body.html, True, budget.left)) if body.html is not None else None
            )
            filled_text = (
                budget.spend(fill(body.text, False, budget.left)) if body.text is not None else None
            )
        except TooLarge:
            raise budget.problem(where, max_total_bytes) from None
        except TemplateError as exc:
            raise _invalid("template_id", _template_problem(body, exc)) from None
        except RenderTimeout:
            raise _invalid(
                where,
                f"Rendering the template took longer than {MAX_RENDER_SECONDS:g} seconds "
                "(for all personalizations of the request together); it stopped at this one.",
            ) from None
        total_left -= fixed + budget.spent
        drafts.append(
            Draft(
                Email(
                    sender=_sender(person.sender, f"{where}.from") if own_sender else sender,
                    to=to,
                    cc=cc,
                    bcc=bcc,
                    subject=filled_subject,
                    html=filled_html,
                    text=filled_text,
                    reply_to=reply_to,
                    attachments=attachments,
                    headers=headers,
                    send_at=(
                        _send_at(person.send_at, f"{where}.send_at", now)
                        if person.send_at is not None
                        else send_at
                    ),
                    categories=categories,
                    unique_args=args,
                    template_id=template_id,
                    template_version_id=body.version_id,
                    asm_group_id=request.asm_group_id,
                    tracking=tracking,
                ),
                f"{where}.from" if own_sender else "from",
            )
        )
    return drafts


async def verify_senders(
    conn: AsyncConnection, principal: Principal, drafts: Sequence[Draft]
) -> list[Email]:
    """Each draft with its sender replaced by the account's verified address row (and its
    id); Forbidden for a sender that is not one, unless the account allows it."""
    allow_any = _switch(principal.account.settings.get(UNVERIFIED_FROM_SETTING))
    found: dict[str, tuple[Mailbox, int] | None] = {}
    emails = []
    for draft in drafts:
        given = draft.email.sender
        key = given.email.lower()
        if key not in found:
            row = await address_store.find_address(conn, principal.account.id, given.email)
            verified = row is not None and bool(row["verified"])
            found[key] = (Mailbox(row["email"]), int(row["id"])) if verified and row else None
        match = found[key]
        if match is not None:
            box = Mailbox(match[0].email, given.name)
            emails.append(replace(draft.email, sender=box, from_email_address_id=match[1]))
        elif allow_any:
            emails.append(draft.email)
        else:
            raise Forbidden(UNVERIFIED_SENDER, field=draft.sender_field)
    return emails


# --- the checks -----------------------------------------------------------------------------


def _invalid(field: str, message: str) -> InvalidInput:
    return InvalidInput(message, field=field)


def _switch(value: Any) -> bool:
    # As the other account switches: JSON booleans, 0/1 or strings ("0" is off).
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def _address(item: AddressIn, field: str, missing: str) -> Mailbox:
    if not item.email or not item.email.strip():
        raise _invalid(f"{field}.email", missing)
    try:
        return mailbox(item.email, item.name, f"{field}.email")
    except InvalidInput:
        raise _invalid(f"{field}.email", "Does not contain a valid address.") from None


def _sender(item: AddressIn | None, field: str) -> Mailbox:
    if item is None:
        raise _invalid(
            field,
            "The from object must be provided for every email send. It is an object that "
            'requires the email parameter, but may also contain a name parameter. e.g. {"email" '
            ': "example@example.com"} or {"email" : "example@example.com", "name" : "Example '
            'Recipient"}.',
        )
    return _address(
        item,
        field,
        "The from object must at least have an email parameter with a valid email address "
        "and may also contain a name parameter.",
    )


def _reply_to(request: MailRequest) -> Mailbox | None:
    if request.reply_to is not None and request.reply_to_list:
        raise _invalid("reply_to", "reply_to and reply_to_list cannot be used together.")
    if len(request.reply_to_list) > 1:
        # The message carries one Reply-To mailbox (channels.email.mime.Content.reply_to).
        raise _invalid(
            "reply_to_list",
            f"Dovecote supports one reply-to address per email; reply_to_list has "
            f"{len(request.reply_to_list)}.",
        )
    if request.reply_to_list:
        return _address(
            request.reply_to_list[0],
            "reply_to_list.0",
            "Each reply_to_list object must have an email parameter with a valid address.",
        )
    if request.reply_to is None:
        return None
    return _address(
        request.reply_to,
        "reply_to",
        "The reply_to object, when used, must at least have an email parameter with a "
        "valid email address and it may also contain a name parameter.",
    )


def _recipients(
    person: PersonalizationIn, where: str
) -> tuple[list[Mailbox], list[Mailbox], list[Mailbox]]:
    if not person.to:
        raise _invalid(
            f"{where}.to",
            "The to array is required for all personalization objects, and must have at "
            "least one email object with a valid email address.",
        )
    seen: set[str] = set()
    lists: list[list[Mailbox]] = []
    for kind, items in (("to", person.to), ("cc", person.cc), ("bcc", person.bcc)):
        boxes = []
        for j, item in enumerate(items):
            box = _address(
                item,
                f"{where}.{kind}.{j}",
                f"The {kind} array must at least have an email parameter with a valid email "
                "address and it may also contain a name parameter.",
            )
            if box.email.lower() in seen:
                raise _invalid(
                    where,
                    "Each email address in the personalization block should be unique "
                    "between to, cc, and bcc. We found the first duplicate instance of "
                    f"[{box.email}] in the {where}.{kind} field.",
                )
            seen.add(box.email.lower())
            boxes.append(box)
        lists.append(boxes)
    return lists[0], lists[1], lists[2]


def _check_subject(subject: str, field: str) -> None:
    if not subject.strip():
        raise _invalid(
            field, "The subject of your email must be a string at least one character in length."
        )
    if len(subject) > MAX_SUBJECT:
        raise _invalid(field, f"The subject may be at most {MAX_SUBJECT} characters long.")


def _categories(categories: Sequence[str]) -> tuple[str, ...]:
    if len(categories) > MAX_CATEGORIES:
        raise _invalid(
            "categories",
            f"There is a limit of {MAX_CATEGORIES} categories for each email that is sent. "
            f"You provided {len(categories)} categories.",
        )
    seen: set[str] = set()
    for category in categories:
        if len(category) > MAX_CATEGORY:
            raise _invalid(
                "categories",
                f"Each category must not be longer than {MAX_CATEGORY} characters. "
                f"{category[:40]}… exceeds this limit",
            )
        if not category.isascii():
            raise _invalid("categories", "Categories can not contain non-ASCII characters.")
        if category in seen:
            raise _invalid(
                "categories",
                "The categories must be a unique list, and you have included "
                f"{category} more than once.",
            )
        seen.add(category)
    return tuple(categories)


def _check_args(args: Mapping[str, str], field: str) -> None:
    for key in args:
        if not key or len(key) > MAX_CUSTOM_ARG_KEY:
            raise _invalid(
                field,
                f"Custom argument names must be 1 to {MAX_CUSTOM_ARG_KEY} characters long.",
            )


def _check_headers(headers: Mapping[str, str], field: str) -> None:
    for name in headers:
        if not HEADER_NAME.fullmatch(name):
            raise _invalid(
                field,
                "Header keys cannot contain non-ASCII characters and empty spaces "
                f"(nor ':', nor be longer than 76 characters): {name[:80]!r}.",
            )
        if name.lower() in RESERVED:
            raise _invalid(field, f"Header can not be one of the reserved keys: {name}.")


def _merge_headers(base: Mapping[str, str], own: Mapping[str, str]) -> dict[str, str]:
    """The request's headers with the personalization's over them (names compared
    case-insensitively, the personalization's spelling kept)."""
    merged = {name.lower(): (name, value) for name, value in base.items()}
    merged.update({name.lower(): (name, value) for name, value in own.items()})
    return dict(merged.values())


def _send_at(value: int | None, field: str, now: float) -> int | None:
    """Unix seconds; None sends now, as does a time in the past (SendGrid's rule)."""
    if value is None:
        return None
    if value < 0:
        raise _invalid(
            field,
            "The send_at parameter is expecting a Unix timestamp as an integer. We will send "
            "immediately if you include a send_at timestamp that is in the past.",
        )
    if value > now + MAX_SCHEDULE_AHEAD:
        raise _invalid(field, "Scheduling more than 72 hours in advance is forbidden.")
    return value if value > now else None


def _template_id(value: str | None) -> str | None:
    if value is None:
        return None
    if not value.strip() or len(value) > MAX_TEMPLATE_ID:
        raise _invalid(
            "template_id",
            f"The template ID must be a string of 1 to {MAX_TEMPLATE_ID} characters.",
        )
    return value.strip()


def _check_asm(request: MailRequest) -> None:
    # Stored in an INTEGER column (int32 on PostgreSQL): a larger id was a 500 at insert.
    if request.asm_group_id is not None and not 0 <= request.asm_group_id <= _INT32:
        raise _invalid(
            "asm.group_id", f"The ASM group ID must be a positive integer up to {_INT32}."
        )
    if len(request.asm_groups_to_display) > MAX_GROUPS_TO_DISPLAY:
        raise _invalid(
            "asm.groups_to_display",
            f"There is a limit of {MAX_GROUPS_TO_DISPLAY} unsubscribe groups that can be "
            "displayed to a user at a time.",
        )


def _attachments(items: Sequence[AttachmentIn]) -> list[Attachment]:
    decoded = []
    for i, item in enumerate(items):
        where = f"attachments.{i}"
        if not item.content:
            raise _invalid(
                f"{where}.content",
                "The attachment content must be a string at least one character in length.",
            )
        if not item.filename or not item.filename.strip():
            raise _invalid(f"{where}.filename", "filename is required.")
        if any(c in item.filename for c in "\r\n"):
            raise _invalid(
                f"{where}.filename",
                "The filename of your attachment cannot contain CRLF characters.",
            )
        if item.type is not None and any(c in item.type for c in ";\r\n"):
            raise _invalid(f"{where}.type", "The type cannot contain ';', or CRLF characters.")
        kind = (item.disposition or "attachment").strip().lower()
        if kind not in ("attachment", "inline"):
            raise _invalid(
                f"{where}.disposition",
                'The disposition of your attachment can be either "inline" or "attachment". '
                f"You provided {item.disposition}.",
            )
        if item.content_id is not None and any(c in item.content_id for c in "\r\n"):
            raise _invalid(
                f"{where}.content_id",
                "The content ID of your attachment cannot contain CRLF characters.",
            )
        try:
            decoded.append(
                attachment(
                    item.content,
                    filename=item.filename,
                    type=item.type,
                    disposition=kind,
                    cid=item.content_id,
                    field=where,
                )
            )
        except InvalidInput as exc:
            if exc.field == f"{where}.content":
                raise _invalid(
                    exc.field, "The attachment content must be base64 encoded."
                ) from None
            raise
    return decoded


def _tracking(request: MailRequest, account: Tracking) -> Tracking | None:
    """None leaves both switches to the account (`queue_emails` reads them then); a
    request that sets one of them keeps the account's other one."""
    if request.open_tracking is None and request.click_tracking is None:
        return None
    return Tracking(
        opens=account.opens if request.open_tracking is None else request.open_tracking,
        clicks=account.clicks if request.click_tracking is None else request.click_tracking,
    )


def _template_problem(body: Body, exc: TemplateError) -> str:
    where = f" (line {exc.line})" if exc.line is not None else ""
    version = (
        f"version {body.version_id} of template {body.template_id}"
        if body.version_id
        else ("the template")
    )
    return f"The template could not be rendered: {version}{where}: {exc.message}"


# --- substitutions and template data --------------------------------------------------------


class _Budget:
    """The bytes one email may still grow by, against both limits at once."""

    def __init__(self, message_left: int, total_left: int) -> None:
        self.message_left = message_left
        self.total_left = total_left
        self.spent = 0

    @property
    def left(self) -> int:
        return min(self.message_left, self.total_left) - self.spent

    def spend(self, text: str) -> str:
        self.spent += byte_size(text)
        if self.left < 0:
            raise TooLarge
        return text

    def problem(self, where: str, max_total_bytes: int) -> InvalidInput:
        if self.message_left <= self.total_left:
            return _invalid(
                where,
                f"An email may be at most {MAX_MESSAGE_BYTES:,} bytes (30 MB) with its "
                "substitutions applied, its headers and its attachments included.",
            )
        return _invalid(
            "personalizations",
            f"The emails of one request may be at most {max_total_bytes:,} bytes together, "
            "with substitutions applied and attachments included. Send fewer "
            "personalizations per request.",
        )


def _filler(
    person: PersonalizationIn,
    templated: bool,
    *,
    always: bool = False,
    deadline: float | None = None,
) -> Callable[[str, bool, int], str]:
    """fill(text, is_html, limit): the personalization's substitutions (literal tags,
    longest first, one pass) and, with a template_id, its dynamic_template_data; raises
    TooLarge as soon as the text grows past `limit` bytes."""
    keys = sorted((k for k in person.substitutions if k), key=len, reverse=True)
    tags = re.compile("|".join(re.escape(k) for k in keys)) if keys else None
    data = person.dynamic_template_data if templated else None
    # What each tag adds, in bytes, computed once rather than once per occurrence.
    growth = {k: byte_size(person.substitutions[k]) - byte_size(k) for k in keys}

    def fill(text: str, is_html: bool, limit: int) -> str:
        size = byte_size(text)
        if size > limit:
            raise TooLarge
        if tags is not None:

            def substitute(match: re.Match[str]) -> str:
                nonlocal size
                tag = match.group(0)
                size += growth[tag]
                if size > limit:
                    raise TooLarge
                return person.substitutions[tag]

            text = tags.sub(substitute, text)
        if data or (always and data is not None):  # a dynamic template renders even empty
            left = MAX_RENDER_SECONDS if deadline is None else deadline - time.monotonic()
            if left <= 0:
                raise RenderTimeout
            text = render_variables(text, data, escape=is_html, limit=limit, timeout=left)
        return text

    return fill
