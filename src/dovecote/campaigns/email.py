"""Email campaigns: validate and price a campaign, queue it, read, change and cancel it.

Mirrors SMS campaigns (`sms.py`): `/send` only validates and inserts the campaign, the
fan-out (`email_fanout.py`) queues one email per contact with an address through the
email channel (`queue_emails`: charge, suppressions, MIME) batch by batch. `/price` walks
the list exactly as the fan-out will (same personalisation, same unit price, the same
suppressed addresses left out), so its total is what the fan-out charges as long as the
list and the suppressions do not change in between.

Every campaign email carries `List-Unsubscribe` (a signed Dovecote link) and
`List-Unsubscribe-Post: List-Unsubscribe=One-Click` (RFC 8058): a POST to the link adds
the address to the account's suppressions (`unsubscribe`), which later campaigns and
every other email of the account then drop, free.
"""

from __future__ import annotations

import html
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final
from urllib.parse import urlencode

from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from dovecote.accounts.service import require
from dovecote.campaigns import email_store as store
from dovecote.campaigns import store as campaigns
from dovecote.campaigns.sms import contacts_after
from dovecote.channels.email import store as email_store
from dovecote.channels.email import suppressions, templates_store
from dovecote.channels.email.compose import (
    MAX_SUBJECT,
    Email,
    Mailbox,
    mailbox,
    price_emails,
)
from dovecote.channels.sms.compose import parse_schedule
from dovecote.contacts import personalise
from dovecote.contacts.service import Contact, owned_list
from dovecote.core import security
from dovecote.core.errors import InvalidInput, NotFound
from dovecote.core.models import Principal
from dovecote.pipeline import outbound
from dovecote.pipeline.pricing import PriceBook
from dovecote.settings import Settings
from dovecote.storage.listing import ListQuery, Page
from dovecote.storage.tables import email_campaigns

PERMISSIONS: Final = ("access_email", "access_contacts")
BATCH: Final = 500
UNSUBSCRIBE_PATH: Final = "/v3/email-unsubscribe"
ONE_CLICK: Final = "List-Unsubscribe=One-Click"
_CONTROL: Final = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


@dataclass(frozen=True, slots=True)
class Draft:
    list_id: int
    name: str
    subject: str
    body: str
    from_email_address_id: int
    from_name: str | None
    template_id: int | None
    schedule: int | None
    custom_string: str | None


def _require(principal: Principal) -> None:
    for flag in PERMISSIONS:
        require(principal, flag)


def _id(body: Mapping[str, Any], name: str, *, required: bool) -> int | None:
    """An id as SDK 6 (a string), SDK 5 (a float) or the spec (an integer) sends it."""
    raw = body.get(name)
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        if required:
            raise InvalidInput(f"{name} is required.", field=name)
        return None
    try:
        value = float(str(raw).strip()) if not isinstance(raw, bool) else float("nan")
    except ValueError:
        raise InvalidInput(f"{name} must be a number.", field=name) from None
    if not value.is_integer() or not 1 <= value <= 2**31 - 1:
        raise InvalidInput(f"{name} must be a positive whole number.", field=name)
    return int(value)


def _text(body: Mapping[str, Any], name: str, limit: int, *, required: bool) -> str | None:
    value = body.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise InvalidInput(f"{name} is required.", field=name)
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"{name} must be a string.", field=name)
    if len(value) > limit:
        raise InvalidInput(f"{name} is longer than {limit} characters.", field=name)
    if name != "body" and _CONTROL.search(value):
        # A line break in a header value is header injection (and a 500 when built).
        raise InvalidInput(f"{name} may not contain line breaks or control characters.")
    return value if name == "body" else value.strip()


async def draft(
    conn: AsyncConnection, principal: Principal, body: Mapping[str, Any], now: float
) -> Draft:
    """The campaign as the client sent it, checked field by field (the list, the sender
    address and the template must be the caller account's)."""
    list_id = _id(body, "list_id", required=True)
    address_id = _id(body, "from_email_address_id", required=True)
    template_id = _id(body, "template_id", required=False)
    assert list_id is not None and address_id is not None
    name = _text(body, "name", 200, required=True)
    subject = _text(body, "subject", MAX_SUBJECT, required=True)
    message = _text(body, "body", 1_000_000, required=template_id is None)
    assert name is not None and subject is not None
    account_id = principal.account.id
    if message is None:
        assert template_id is not None
        template = await templates_store.get_template(conn, account_id, template_id)
        if template is None:
            raise InvalidInput(f"template_id {template_id} is not a template of this account.")
        message = str(template["body"])
    personalise.check(subject, "subject")
    personalise.check(message)
    schedule = parse_schedule(body.get("schedule"), now)
    if schedule is False:
        raise InvalidInput("schedule must be a Unix time within a year.", code="INVALID_SCHEDULE")
    await owned_list(conn, account_id, list_id)
    await sender(conn, principal, address_id, None)
    return Draft(
        list_id=list_id,
        name=name,
        subject=subject,
        body=message,
        from_email_address_id=address_id,
        from_name=_text(body, "from_name", 200, required=False),
        template_id=template_id,
        schedule=schedule or None,
        custom_string=_text(body, "custom_string", 4096, required=False),
    )


def plan_of(row: Mapping[Any, Any]) -> Draft:
    """A stored campaign as the draft it was made from (already checked)."""
    return Draft(
        list_id=int(row["list_id"]),
        name=str(row["name"]),
        subject=str(row["subject"]),
        body=str(row["body"]),
        from_email_address_id=int(row["from_email_address_id"]),
        from_name=row["from_name"],
        template_id=row["template_id"],
        schedule=row["schedule"],
        custom_string=row["custom_string"],
    )


async def sender(
    conn: AsyncConnection, principal: Principal, address_id: int, name: str | None
) -> Mailbox:
    """The account's verified allowed address `address_id`, or InvalidInput."""
    field = "from_email_address_id"
    row = await email_store.get_email_address(conn, address_id)
    if row is None or row["account_id"] != principal.account.id:
        raise InvalidInput(f"{field} {address_id} is not an email address of this account.")
    if not row["verified"]:
        raise InvalidInput(f"{field} {address_id} ({row['email']}) is not verified yet.")
    return Mailbox(row["email"], (name or "").strip() or None)


# --- unsubscribe links ------------------------------------------------------------------


def _unsubscribe_payload(account_id: int, email: str, campaign_id: int) -> str:
    return f"unsubscribe|{account_id}|{email.lower()}|{campaign_id}"


def unsubscribe_url(
    settings: Settings, account_id: int, email: str, campaign_id: int, *, now: float
) -> str:
    """The signed link of `List-Unsubscribe`: valid as long as tracking links are."""
    expires = int(now) + settings.email_tracking_ttl
    signature = security.sign(
        settings.secret_key, _unsubscribe_payload(account_id, email, campaign_id), expires
    )
    query = urlencode(
        {"a": account_id, "m": email.lower(), "c": campaign_id, "e": expires, "s": signature}
    )
    return f"{settings.public_base().rstrip('/')}{UNSUBSCRIBE_PATH}?{query}"


def check_unsubscribe(settings: Settings, query: Mapping[str, str]) -> tuple[int, str] | None:
    """(account id, address) of a good unsubscribe link; None for a bad or expired one."""
    try:
        account_id, campaign_id, expires = int(query["a"]), int(query["c"]), int(query["e"])
        address, signature = query["m"], query["s"]
    except (KeyError, ValueError):
        return None
    payload = _unsubscribe_payload(account_id, address, campaign_id)
    if not security.verify_signature(settings.secret_key, payload, expires, signature):
        return None
    return account_id, address.lower()


async def unsubscribe(conn: AsyncConnection, account_id: int, address: str) -> None:
    """The one-click POST: later emails of the account to `address` are dropped."""
    found = await suppressions.find(conn, account_id, [address])
    if address not in found:
        await suppressions.add(
            conn, account_id, address, suppressions.UNSUBSCRIBE, now=int(time.time())
        )


# --- composing -----------------------------------------------------------------------------


def _escaped(fields: Mapping[str, str | None]) -> dict[str, str | None]:
    # Contact fields go into HTML: `<b>` in a first name must not become markup.
    return {key: html.escape(value) if value else value for key, value in fields.items()}


def emails_for(
    plan: Draft,
    contacts: Sequence[Contact],
    from_box: Mailbox,
    settings: Settings,
    *,
    account_id: int,
    campaign_id: int | None,
    now: float,
) -> tuple[list[Email], int]:
    """One personalised email per contact with a valid address, and how many contacts were
    refused (an address `mailbox()` does not accept). `campaign_id=None`: for pricing."""
    emails: list[Email] = []
    refused = 0
    for contact in contacts:
        address = contact.fields.get("email")
        if not address:
            continue
        name = " ".join(
            part for part in (contact.fields.get("first_name"), contact.fields.get("last_name"))
            if part
        )  # fmt: skip
        try:
            box = mailbox(address, name, "email")
        except InvalidInput:
            refused += 1
            continue
        headers: dict[str, str] = {}
        if campaign_id is not None:
            link = unsubscribe_url(settings, account_id, box.email, campaign_id, now=now)
            headers = {"List-Unsubscribe": f"<{link}>", "List-Unsubscribe-Post": ONE_CLICK}
        emails.append(
            Email(
                sender=from_box,
                to=[box],
                # A contact field's line break must not reach the Subject header.
                subject=_CONTROL.sub(" ", personalise.fill(plan.subject, contact.fields)),
                html=personalise.fill(plan.body, _escaped(contact.fields)),
                headers=headers,
                custom_string=plan.custom_string,
                from_email_address_id=plan.from_email_address_id,
            )
        )
    return emails, refused


# --- operations ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Price:
    plan: Draft
    count: int
    total_micros: int


async def price(
    conn: AsyncConnection,
    principal: Principal,
    prices: PriceBook,
    settings: Settings,
    body: Mapping[str, Any],
) -> Price:
    _require(principal)
    now = time.time()
    plan = await draft(conn, principal, body, now)
    return await price_plan(conn, principal, prices, settings, plan, now=now)


async def price_plan(
    conn: AsyncConnection,
    principal: Principal,
    prices: PriceBook,
    settings: Settings,
    plan: Draft,
    *,
    now: float,
) -> Price:
    account_id = principal.account.id
    from_box = await sender(conn, principal, plan.from_email_address_id, plan.from_name)
    bound = await campaigns.max_contact_id(conn, account_id, plan.list_id)
    count, total, after = 0, 0, 0
    while after < bound:
        chunk = await contacts_after(conn, account_id, plan.list_id, after, bound, BATCH)
        if not chunk:
            break
        emails, _ = emails_for(
            plan, chunk, from_box, settings, account_id=account_id, campaign_id=None, now=now
        )
        if emails:
            blocked = await suppressions.find(conn, account_id, (e.to[0].email for e in emails))
            priced = price_emails(principal, emails, settings=settings, prices=prices, now=now)
            for group in priced.emails:
                item = group.recipients[0]
                if item.is_test or item.recipient.lower() not in blocked:
                    count += 1
                    total += item.price_micros
        after = chunk[-1].id
    return Price(plan, count, total)


def _values(plan: Draft) -> dict[str, Any]:
    return {
        "list_id": plan.list_id,
        "name": plan.name,
        "subject": plan.subject,
        "body": plan.body,
        "from_email_address_id": plan.from_email_address_id,
        "from_name": plan.from_name,
        "template_id": plan.template_id,
        "schedule": plan.schedule,
        "custom_string": plan.custom_string,
        "status": store.SCHEDULED if plan.schedule else store.QUEUED,
    }


async def send(
    conn: AsyncConnection,
    principal: Principal,
    prices: PriceBook,
    settings: Settings,
    body: Mapping[str, Any],
    *,
    ip: str | None,
) -> tuple[RowMapping, Price]:
    """Insert the campaign (the fan-out charges it) and answer its price as of now."""
    _require(principal)
    now = time.time()
    plan = await draft(conn, principal, body, now)
    priced = await price_plan(conn, principal, prices, settings, plan, now=now)
    account_id = principal.account.id
    campaign_id = await store.insert(
        conn,
        {
            **_values(plan),
            "account_id": account_id,
            "user_id": principal.user.id,
            "max_contact_id": await campaigns.max_contact_id(conn, account_id, plan.list_id),
            "due_at": float(plan.schedule or now),
            "ip_address": ip,
            "created_at": int(now),
        },
    )
    return await get(conn, principal, campaign_id), priced


async def get(conn: AsyncConnection, principal: Principal, campaign_id: int) -> RowMapping:
    _require(principal)
    row = await store.get(conn, principal.account.id, campaign_id)
    if row is None:
        raise NotFound(f"Email campaign #{campaign_id} not found.")
    return row


async def counts(conn: AsyncConnection, principal: Principal, campaign_id: int) -> dict[str, int]:
    return await store.message_counts(conn, principal.account.id, campaign_id)


async def engagement(
    conn: AsyncConnection, principal: Principal, campaign_ids: Sequence[int]
) -> dict[int, dict[str, int]]:
    """Opens, clicks, bounces, spam reports and unsubscribes per campaign."""
    return await store.engagement(conn, principal.account.id, campaign_ids)


async def message_engagement(
    conn: AsyncConnection, message_ids: Sequence[str]
) -> dict[str, dict[str, int]]:
    return await store.message_engagement(conn, message_ids)


async def page(conn: AsyncConnection, principal: Principal, params: ListQuery) -> Page:
    _require(principal)
    return await store.page(conn, principal.account.id, params)


async def history(
    conn: AsyncConnection, principal: Principal, campaign_id: int, params: ListQuery
) -> Page:
    await get(conn, principal, campaign_id)
    return await store.history_page(conn, principal.account.id, campaign_id, params)


async def update(
    conn: AsyncConnection, principal: Principal, campaign_id: int, body: Mapping[str, Any]
) -> RowMapping:
    """Change a campaign whose fan-out has not started (the fields of /send)."""
    current = await get(conn, principal, campaign_id)
    now = time.time()
    merged = {
        "list_id": current["list_id"],
        "name": current["name"],
        "subject": current["subject"],
        "body": current["body"],
        "from_email_address_id": current["from_email_address_id"],
        "from_name": current["from_name"],
        "schedule": current["schedule"],
        "custom_string": current["custom_string"],
        **{key: value for key, value in body.items() if value is not None},
    }
    if body.get("template_id") is not None and body.get("body") is None:
        merged.pop("body")  # a new template replaces the body
    plan = await draft(conn, principal, merged, now)
    account_id = principal.account.id
    changed = await campaigns.update_unstarted(
        conn,
        account_id,
        campaign_id,
        {
            **_values(plan),
            "max_contact_id": await campaigns.max_contact_id(conn, account_id, plan.list_id),
            "due_at": float(plan.schedule or now),
        },
        table=email_campaigns,
    )
    if not changed:
        raise InvalidInput(
            f"Email campaign #{campaign_id} is {current['status'].lower()}: only a campaign "
            "not yet being sent can be changed."
        )
    return await get(conn, principal, campaign_id)


async def cancel(conn: AsyncConnection, principal: Principal, campaign_id: int) -> RowMapping:
    """Stop the fan-out and cancel (refunding) the campaign's emails still queued. A
    campaign fully fanned out is still cancellable while some of its emails wait for a
    worker (scheduled, or a backlog): those are the ones not yet dispatched."""
    current = await get(conn, principal, campaign_id)
    account_id = principal.account.id
    if not await campaigns.cancel(conn, account_id, campaign_id, table=email_campaigns):
        waiting = current["status"] == store.SENT and bool(
            await store.queued_message_ids(conn, account_id, campaign_id)
        )
        if not waiting or not await store.cancel_sent(conn, account_id, campaign_id):
            reason = (
                "every email of it has been dispatched"
                if current["status"] == store.SENT
                else "it is over"
            )
            raise InvalidInput(
                f"Email campaign #{campaign_id} is {current['status'].lower()} and cannot be "
                f"cancelled: {reason}."
            )
    ids = await store.queued_message_ids(conn, account_id, campaign_id)
    if ids:
        await outbound.cancel(conn, principal, "email", ids, now=time.time())
    return await get(conn, principal, campaign_id)


def total_price(micros: int) -> str:
    return f"{(Decimal(micros) / Decimal(1_000_000)):.6f}"
