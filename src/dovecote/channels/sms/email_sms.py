"""Email-to-SMS: addresses allowed to send SMS by email, the strings cut from every such
email, and turning an email into the text of an SMS.

An email to `<number>@<DOVECOTE_EMAIL_SMS_DOMAIN>` from an allowed address becomes an SMS
to `<number>` from the account that allowed the address (the SMTP listener in
`apis/email_sms_listener.py` receives it). The text is the email's plain-text part (or
its HTML flattened), cut at the signature delimiter (`-- `), without quoted replies and
"Sent from my …" lines, and without each of the account's stripped strings.
"""

from __future__ import annotations

import html
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any, Final

from email_validator import EmailNotValidError, validate_email
from sqlalchemy.ext.asyncio import AsyncConnection

from dovecote.channels.sms import compose, senders
from dovecote.channels.sms import email_sms_store as store
from dovecote.channels.sms.compose import SmsRequest, valid_sender
from dovecote.core.errors import InvalidInput, NotFound
from dovecote.core.models import Principal
from dovecote.pipeline import outbound
from dovecote.pipeline.events import EventLog
from dovecote.pipeline.outbound import Outbound
from dovecote.pipeline.pricing import PriceBook
from dovecote.storage.listing import ListQuery, Page

MAX_STRIP: Final = 500
_DOMAIN = re.compile(r"(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}")
_SIGNATURE = re.compile(r"^-- ?$")
_DEVICE_LINE = re.compile(r"^(sent from my |get outlook for )", re.IGNORECASE)
_TAG = re.compile(r"<[^>]*>")
_BREAK = re.compile(r"<\s*(br|/p|/div|/li|/tr)\b[^>]*>", re.IGNORECASE)
_SCRIPT = re.compile(r"<(script|style)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True, slots=True)
class AllowedAddress:
    id: int
    user_id: int
    email_address: str
    sender: str


@dataclass(frozen=True, slots=True)
class StripRule:
    id: int
    strip_string: str


def address_from_row(row: Mapping[Any, Any]) -> AllowedAddress:
    return AllowedAddress(
        id=int(row["id"]),
        user_id=int(row["user_id"]),
        email_address=row["email_address"],
        sender=row["sender"],
    )


def rule_from_row(row: Mapping[Any, Any]) -> StripRule:
    return StripRule(id=int(row["id"]), strip_string=row["strip_string"])


# --- allowed addresses ------------------------------------------------------------------


def normalize_allowed(value: str | None) -> str:
    """An address, or `*@domain` for every address of a domain; lower case."""
    text = (value or "").strip().lower()
    if text.startswith("*@"):
        if _DOMAIN.fullmatch(text[2:]):
            return text
        raise InvalidInput("email_address: *@ must be followed by a domain.", field="email_address")
    try:
        return validate_email(text, check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise InvalidInput(f"email_address: {exc}", field="email_address") from None


def _sender(value: str | None) -> str:
    sender = (value or "").strip()
    if sender and not valid_sender(sender):
        raise InvalidInput(
            "from must be a phone number or an alphanumeric sender id of up to 11 characters.",
            code="INVALID_SENDER_ID",
            field="from",
        )
    return sender


async def list_addresses(conn: AsyncConnection, principal: Principal, params: ListQuery) -> Page:
    return await store.list_rows(conn, "address", principal.account.id, params)


async def get_address(
    conn: AsyncConnection, principal: Principal, address_id: int
) -> AllowedAddress:
    row = await store.get(conn, "address", principal.account.id, address_id)
    if row is None:
        raise NotFound(f"Allowed email address #{address_id} not found.")
    return address_from_row(row)


async def create_address(
    conn: AsyncConnection, principal: Principal, email_address: str | None, sender: str | None
) -> AllowedAddress:
    values = {
        "account_id": principal.account.id,
        "user_id": principal.user.id,
        "email_address": normalize_allowed(email_address),
        "sender": _sender(sender),
        "created_at": int(time.time()),
    }
    return address_from_row(await store.insert(conn, "address", values))


async def update_address(
    conn: AsyncConnection,
    principal: Principal,
    address_id: int,
    email_address: str | None,
    sender: str | None,
) -> AllowedAddress:
    values: dict[str, Any] = {"email_address": normalize_allowed(email_address)}
    if sender is not None:
        values["sender"] = _sender(sender)
    row = await store.update(conn, "address", principal.account.id, address_id, values)
    if row is None:
        raise NotFound(f"Allowed email address #{address_id} not found.")
    return address_from_row(row)


async def delete_address(conn: AsyncConnection, principal: Principal, address_id: int) -> None:
    if not await store.delete(conn, "address", principal.account.id, address_id):
        raise NotFound(f"Allowed email address #{address_id} not found.")


async def allowed_sender(conn: AsyncConnection, mail_from: str) -> AllowedAddress | None:
    """Whose allowed address `mail_from` is: an exact entry before a `*@domain` one, the
    oldest first (one address allowed by two accounts sends for the first)."""
    rows = await store.senders_matching(conn, mail_from.strip().lower())
    return address_from_row(rows[0]) if rows else None


# --- stripped strings -------------------------------------------------------------------


def _strip_string(value: str | None) -> str:
    text = (value or "").strip()
    if not text:
        raise InvalidInput("strip_string must not be empty.", field="strip_string")
    if len(text) > MAX_STRIP:
        raise InvalidInput(
            f"strip_string must be at most {MAX_STRIP} characters.", field="strip_string"
        )
    return text


async def list_rules(conn: AsyncConnection, principal: Principal, params: ListQuery) -> Page:
    return await store.list_rows(conn, "strip", principal.account.id, params)


async def get_rule(conn: AsyncConnection, principal: Principal, rule_id: int) -> StripRule:
    row = await store.get(conn, "strip", principal.account.id, rule_id)
    if row is None:
        raise NotFound(f"Stripped string rule #{rule_id} not found.")
    return rule_from_row(row)


async def create_rule(conn: AsyncConnection, principal: Principal, text: str | None) -> StripRule:
    values = {
        "account_id": principal.account.id,
        "strip_string": _strip_string(text),
        "created_at": int(time.time()),
    }
    return rule_from_row(await store.insert(conn, "strip", values))


async def update_rule(
    conn: AsyncConnection, principal: Principal, rule_id: int, text: str | None
) -> StripRule:
    values = {"strip_string": _strip_string(text)}
    row = await store.update(conn, "strip", principal.account.id, rule_id, values)
    if row is None:
        raise NotFound(f"Stripped string rule #{rule_id} not found.")
    return rule_from_row(row)


async def delete_rule(conn: AsyncConnection, principal: Principal, rule_id: int) -> None:
    if not await store.delete(conn, "strip", principal.account.id, rule_id):
        raise NotFound(f"Stripped string rule #{rule_id} not found.")


async def strip_strings(conn: AsyncConnection, account_id: int) -> list[str]:
    return await store.strip_strings(conn, account_id)


# --- the text of an email ---------------------------------------------------------------


def email_text(raw: bytes, strip: Iterable[str] = ()) -> str:
    """The SMS text of an email: plain text (or flattened HTML), without signature, quoted
    replies, device footers or the account's stripped strings, whitespace tidied."""
    message = BytesParser(policy=policy.default).parsebytes(raw)
    assert isinstance(message, EmailMessage)  # policy.default parses to EmailMessage
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    try:
        content = part.get_content()
    except (LookupError, ValueError):  # an unknown charset or a broken transfer encoding
        return ""
    text = str(content)
    if part.get_content_subtype() == "html":
        text = _flatten_html(text)
    for rule in strip:
        text = text.replace(rule, "")
    lines: list[str] = []
    for line in text.replace("\r\n", "\n").split("\n"):
        if _SIGNATURE.match(line):
            break
        if line.lstrip().startswith(">") or _DEVICE_LINE.match(line.strip()):
            continue
        lines.append(line.rstrip())
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _flatten_html(markup: str) -> str:
    text = _SCRIPT.sub("", markup)
    text = _BREAK.sub("\n", text)
    return html.unescape(_TAG.sub("", text))


async def send_text(
    conn: AsyncConnection,
    principal: Principal,
    recipients: Sequence[str],
    text: str,
    *,
    sender: str,
    from_email: str,
    prices: PriceBook,
    throttle_window: int,
    now: float,
    events: EventLog,
) -> list[Outbound]:
    """Compose, check senders, charge and queue one SMS per recipient, as `/v3/sms/send`
    does. Each item keeps its own status; the caller decides whether a partial result
    is acceptable (email-to-SMS rolls the transaction back unless every one queued)."""
    requests = [
        SmsRequest(
            to=number, body=text, sender=sender or None, source="email", from_email=from_email
        )
        for number in recipients
    ]
    items = compose.compose(requests, principal.account, prices, now=now)
    await senders.apply(conn, principal, items)
    await outbound.accept(
        conn, principal, items, now=now, throttle_window=throttle_window, events=events
    )
    return items
