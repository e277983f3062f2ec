"""SMS campaigns: validate and price a campaign, queue it, read, change and cancel it.

`/price` walks the list exactly as the fan-out will (same personalisation, composition,
opt-outs and prices), so its total is what the fan-out charges as long as the list and
the balance do not change in between. `/send` only validates and inserts the campaign;
the fan-out (`fanout.py`) charges each batch as it queues it. A campaign is cancellable
until it is sent: its fan-out stops and its still-queued messages are refunded.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from dovecote.accounts.service import require
from dovecote.campaigns import links, store
from dovecote.channels.sms.audience import skip_opted_out
from dovecote.channels.sms.compose import SmsRequest, compose, parse_schedule, valid_sender
from dovecote.contacts import personalise
from dovecote.contacts import store as contacts_store
from dovecote.contacts.service import Contact, contact_from_row, owned_list
from dovecote.core.errors import InvalidInput, NotFound
from dovecote.core.models import Account, Principal
from dovecote.pipeline import outbound
from dovecote.pipeline.outbound import Outbound
from dovecote.pipeline.pricing import PriceBook
from dovecote.settings import DEFAULT_PUBLIC_URL
from dovecote.storage.listing import ListQuery, Page

PERMISSIONS: Final = ("access_sms", "access_contacts")
BATCH: Final = 1000


@dataclass(frozen=True, slots=True)
class Draft:
    list_id: int
    name: str
    sender: str
    body: str
    schedule: int | None
    custom_string: str | None
    source: str | None
    senders: Mapping[str, str]  # recipient country → sender id
    url_to_shorten: str | None = None  # link tracking: the body's LINK_MARK becomes a short link


def _require(principal: Principal) -> None:
    for flag in PERMISSIONS:
        require(principal, flag)


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
    return value.strip() if name != "body" else value


def draft(body: Mapping[str, Any], now: float) -> Draft:
    raw_list = body.get("list_id")
    try:
        list_id = int(str(raw_list))
    except ValueError:
        raise InvalidInput("list_id is required: the list to send to.", field="list_id") from None
    if not 1 <= list_id <= 2**31 - 1:
        raise InvalidInput("list_id is not a list id.", field="list_id")
    name = _text(body, "name", 200, required=True)
    message = _text(body, "body", 10_000, required=True)
    assert name is not None and message is not None
    personalise.check(message)
    url_to_shorten = links.check_url(body.get("url_to_shorten"))
    if url_to_shorten is not None:
        message = links.with_token(message)
    sender = _text(body, "from", 64, required=False) or ""
    if sender and not valid_sender(sender):
        raise InvalidInput(f"from: {sender!r} is not a valid sender id.", code="INVALID_SENDER_ID")
    schedule = parse_schedule(body.get("schedule"), now)
    if schedule is False:
        raise InvalidInput("schedule must be a Unix time within a year.", code="INVALID_SCHEDULE")
    return Draft(
        list_id=list_id,
        name=name,
        sender=sender,
        body=message,
        schedule=schedule or None,
        custom_string=_text(body, "custom_string", 4096, required=False),
        source=_text(body, "source", 100, required=False),
        senders=_senders(body.get("senders")),
        url_to_shorten=url_to_shorten,
    )


def _senders(raw: object) -> dict[str, str]:
    """SDK 6's `senders`: a sender id per recipient country."""
    if raw in (None, ""):
        return {}
    if not isinstance(raw, list):
        raise InvalidInput("senders must be an array.", field="senders")
    chosen: dict[str, str] = {}
    for item in raw:
        if not isinstance(item, Mapping):
            raise InvalidInput("senders must be an array of objects.", field="senders")
        country = str(item.get("recipient_country_code") or "").strip().upper()
        sender = str(item.get("sender_id") or "").strip()
        if len(country) != 2 or (sender and not valid_sender(sender)):
            raise InvalidInput(
                "senders: each needs a two-letter recipient_country_code and a valid sender_id.",
                field="senders",
            )
        if sender:
            chosen[country] = sender
    return chosen


def items_for(
    plan: Draft,
    contacts: Sequence[Contact],
    account: Account,
    prices: PriceBook,
    *,
    now: float,
    source: str | None,
    short_urls: Sequence[str] | None = None,
) -> list[Outbound]:
    """One composed message per contact with a phone number (opt-outs not applied yet);
    with link tracking, `short_urls` holds one link per such contact, in order."""
    requests = []
    with_phone = [contact for contact in contacts if contact.fields["phone_number"]]
    for index, contact in enumerate(with_phone):
        body = personalise.fill(plan.body, contact.fields)
        if plan.url_to_shorten is not None and short_urls is not None:
            body = body.replace(links.LINK_MARK, short_urls[index])
        requests.append(
            SmsRequest(
                to=contact.fields["phone_number"],
                body=body,
                sender=plan.senders.get(contact.fields["address_country"] or "", plan.sender),
                country=contact.fields["address_country"],
                custom_string=plan.custom_string,
                source=source,
                list_id=plan.list_id,
                contact_id=contact.id,
            )
        )
    return compose(requests, account, prices, now=now) if requests else []


async def contacts_after(
    conn: AsyncConnection, account_id: int, list_id: int, after: int, bound: int, limit: int
) -> list[Contact]:
    rows = await contacts_store.list_rows(conn, account_id, list_id, after=after, limit=limit)
    return [contact_from_row(row) for row in rows if int(row["id"]) <= bound]


@dataclass(frozen=True, slots=True)
class Price:
    plan: Draft
    count: int
    total_micros: int


async def price(
    conn: AsyncConnection,
    principal: Principal,
    prices: PriceBook,
    body: Mapping[str, Any],
    *,
    public_url: str = DEFAULT_PUBLIC_URL,
) -> Price:
    _require(principal)
    now = time.time()
    plan = draft(body, now)
    account_id = principal.account.id
    await owned_list(conn, account_id, plan.list_id)
    bound = await store.max_contact_id(conn, account_id, plan.list_id)
    count, total, after = 0, 0, 0
    while True:
        chunk = await contacts_after(conn, account_id, plan.list_id, after, bound, BATCH)
        if not chunk:
            return Price(plan, count, total)
        # A placeholder as long as a real short link: the same parts and price.
        fake = [links.placeholder(public_url)] * len(chunk)
        items = items_for(
            plan, chunk, principal.account, prices, now=now, source=None, short_urls=fake
        )
        await skip_opted_out(conn, account_id, items)
        count += sum(1 for item in items if item.ok)
        total += sum(item.price_micros for item in items if item.ok)
        after = chunk[-1].id
        if after >= bound:
            return Price(plan, count, total)


async def send(
    conn: AsyncConnection, principal: Principal, body: Mapping[str, Any], *, ip: str | None
) -> RowMapping:
    _require(principal)
    now = time.time()
    plan = draft(body, now)
    account_id = principal.account.id
    await owned_list(conn, account_id, plan.list_id)
    campaign_id = await store.insert(
        conn,
        {
            "account_id": account_id,
            "user_id": principal.user.id,
            "list_id": plan.list_id,
            "name": plan.name,
            "sender": plan.sender,
            "body": plan.body,
            "schedule": plan.schedule,
            "custom_string": plan.custom_string,
            "source": plan.source,
            "senders": dict(plan.senders),
            "status": store.SCHEDULED if plan.schedule else store.QUEUED,
            "max_contact_id": await store.max_contact_id(conn, account_id, plan.list_id),
            "due_at": float(plan.schedule or now),
            "ip_address": ip,
            "created_at": int(now),
            "url_to_shorten": plan.url_to_shorten,
        },
    )
    await links.set_long_url(conn, account_id, campaign_id, plan.url_to_shorten, int(now))
    return await get(conn, principal, campaign_id)


async def get(conn: AsyncConnection, principal: Principal, campaign_id: int) -> RowMapping:
    _require(principal)
    row = await store.get(conn, principal.account.id, campaign_id)
    if row is None:
        raise NotFound(f"SMS campaign #{campaign_id} not found.")
    return row


async def counts(conn: AsyncConnection, principal: Principal, campaign_id: int) -> dict[str, int]:
    return await store.message_counts(conn, principal.account.id, campaign_id)


async def page(conn: AsyncConnection, principal: Principal, params: ListQuery) -> Page:
    _require(principal)
    return await store.page(conn, principal.account.id, params)


async def update(
    conn: AsyncConnection, principal: Principal, campaign_id: int, body: Mapping[str, Any]
) -> RowMapping:
    """Change a campaign whose fan-out has not started (the fields of /send)."""
    current = await get(conn, principal, campaign_id)
    now = time.time()
    merged = {
        "list_id": current["list_id"],
        "name": current["name"],
        "from": current["sender"],
        "body": current["body"],
        "schedule": current["schedule"],
        "custom_string": current["custom_string"],
        "source": current["source"],
        "url_to_shorten": current["url_to_shorten"],
        **{key: value for key, value in body.items() if value is not None},
    }
    plan = draft(merged, now)
    account_id = principal.account.id
    await owned_list(conn, account_id, plan.list_id)
    changed = await store.update_unstarted(
        conn,
        account_id,
        campaign_id,
        {
            "list_id": plan.list_id,
            "name": plan.name,
            "sender": plan.sender,
            "body": plan.body,
            "schedule": plan.schedule,
            "custom_string": plan.custom_string,
            "source": plan.source,
            "status": store.SCHEDULED if plan.schedule else store.QUEUED,
            "max_contact_id": await store.max_contact_id(conn, account_id, plan.list_id),
            "due_at": float(plan.schedule or now),
            "url_to_shorten": plan.url_to_shorten,
        },
    )
    if changed:
        await links.set_long_url(conn, account_id, campaign_id, plan.url_to_shorten, int(now))
    if not changed:
        raise InvalidInput(
            f"SMS campaign #{campaign_id} is {current['status'].lower()}: only a campaign "
            "not yet being sent can be changed."
        )
    return await get(conn, principal, campaign_id)


async def cancel(conn: AsyncConnection, principal: Principal, campaign_id: int) -> RowMapping:
    """Stop the fan-out and cancel (refunding) the campaign's messages still queued."""
    current = await get(conn, principal, campaign_id)
    account_id = principal.account.id
    if not await store.cancel(conn, account_id, campaign_id):
        raise InvalidInput(
            f"SMS campaign #{campaign_id} is {current['status'].lower()} and cannot be cancelled."
        )
    ids = await store.queued_message_ids(conn, account_id, campaign_id)
    if ids:
        await outbound.cancel(conn, principal, "sms", ids, now=time.time())
    return await get(conn, principal, campaign_id)


def total_price(micros: int) -> str:
    return f"{(Decimal(micros) / Decimal(1_000_000)):.6f}"
