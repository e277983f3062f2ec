"""MMS campaigns: an SMS campaign's lifecycle (price, send, fan-out, change, cancel) with
a subject and a media file.

The media file is fetched and checked once, when the campaign is created (or its
`media_file` changed), and stored under its content hash; every message the fan-out
queues links to that one copy, so a campaign to 100,000 contacts never fetches it again
and a server that changes the file later changes nothing. The rows share `sms_campaigns`
(`channel = 'mms'`), its counters and the fan-out in `fanout.py`.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from dovecote.accounts.service import require
from dovecote.campaigns import sms, store
from dovecote.channels.mms import compose as mms_compose
from dovecote.channels.mms.media import Media
from dovecote.channels.sms.audience import skip_opted_out
from dovecote.contacts import personalise
from dovecote.contacts.service import Contact, owned_list
from dovecote.core.errors import InvalidInput, NotFound
from dovecote.core.models import Account, Principal
from dovecote.pipeline import outbound
from dovecote.pipeline.outbound import Outbound
from dovecote.pipeline.pricing import PriceBook
from dovecote.storage.listing import ListQuery, Page
from dovecote.storage.tables import message_media

CHANNEL: Final = "mms"
PERMISSIONS: Final = ("access_mms", "access_contacts")


@dataclass(frozen=True, slots=True)
class Draft:
    base: sms.Draft  # list, name, sender, body, schedule: checked as for SMS
    subject: str
    media_url: str


@dataclass(frozen=True, slots=True)
class StoredMedia:
    key: str
    content_type: str
    size: int


def _require(principal: Principal) -> None:
    for flag in PERMISSIONS:
        require(principal, flag)


def media_url_of(body: Mapping[str, Any]) -> str:
    """The `media_file` URL the router fetches before anything else (no connection held)."""
    value = body.get("media_file")
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(
            "media_file is required: the URL of a JPEG or GIF.",
            field="media_file",
            code="INVALID_MEDIA_FILE",
        )
    if len(value) > 2000:
        raise InvalidInput("media_file is longer than 2000 characters.", field="media_file")
    return value.strip()


def draft(body: Mapping[str, Any], now: float) -> Draft:
    # No link tracking for MMS yet: its url_to_shorten is not read (no mark added).
    base = sms.draft({**body, "senders": None, "url_to_shorten": None}, now)
    subject = body.get("subject")
    if not isinstance(subject, str) or not subject.strip():
        raise InvalidInput("subject is required.", field="subject")
    if len(subject) > 200:
        raise InvalidInput("subject is longer than 200 characters.", field="subject")
    personalise.check(subject, "subject")
    return Draft(base=base, subject=subject.strip(), media_url=media_url_of(body))


def draft_of_row(row: Mapping[Any, Any], now: float) -> Draft:
    return draft(
        {
            "list_id": row["list_id"],
            "name": row["name"],
            "from": row["sender"],
            "body": row["body"],
            "subject": row["subject"],
            "media_file": row["media_url"],
            "custom_string": row["custom_string"],
            "source": row["source"],
        },
        now,
    )


def items_for(
    plan: Draft,
    contacts: Sequence[Contact],
    account: Account,
    prices: PriceBook,
    *,
    now: float,
    source: str | None,
    media_key: str,
) -> list[Outbound]:
    """One composed MMS per contact with a phone number (opt-outs not applied yet)."""
    base = plan.base
    requests = [
        mms_compose.MmsRequest(
            to=contact.fields["phone_number"],
            body=personalise.fill(base.body, contact.fields),
            subject=personalise.fill(plan.subject, contact.fields),
            sender=base.sender,
            country=contact.fields["address_country"],
            custom_string=base.custom_string,
            source=source,
            list_id=base.list_id,
        )
        for contact in contacts
        if contact.fields["phone_number"]
    ]
    if not requests:
        return []
    return mms_compose.compose(requests, account, prices, now=now, media_key=media_key)


async def attach(
    conn: AsyncConnection, row: Mapping[Any, Any], items: Sequence[Outbound], now: int
) -> None:
    """Link each queued message of a batch to the campaign's one stored media file."""
    rows = [
        {
            "message_id": item.id,
            "account_id": row["account_id"],
            "file_key": row["media_key"],
            "content_type": row["media_type"],
            "size": row["media_size"],
            "created_at": now,
        }
        for item in items
        if item.ok and item.id is not None
    ]
    if rows:
        await conn.execute(message_media.insert(), rows)


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
    found: Media,
) -> Price:
    """What the fan-out will charge: the same walk, composition and opt-outs."""
    _require(principal)
    now = time.time()
    plan = draft(body, now)
    account_id, list_id = principal.account.id, plan.base.list_id
    await owned_list(conn, account_id, list_id)
    bound = await store.max_contact_id(conn, account_id, list_id)
    count, total, after = 0, 0, 0
    while after < bound:
        chunk = await sms.contacts_after(conn, account_id, list_id, after, bound, sms.BATCH)
        if not chunk:
            break
        items = items_for(
            plan, chunk, principal.account, prices, now=now, source=None, media_key=found.key
        )
        await skip_opted_out(conn, account_id, items)
        count += sum(1 for item in items if item.ok)
        total += sum(item.price_micros for item in items if item.ok)
        after = chunk[-1].id
    return Price(plan, count, total)


def _media_values(found: Media) -> dict[str, Any]:
    return {
        "media_key": found.key,
        "media_type": found.content_type,
        "media_size": len(found.data),
    }


async def send(
    conn: AsyncConnection,
    principal: Principal,
    body: Mapping[str, Any],
    found: Media,
    *,
    ip: str | None,
) -> RowMapping:
    _require(principal)
    now = time.time()
    plan = draft(body, now)
    base = plan.base
    account_id = principal.account.id
    await owned_list(conn, account_id, base.list_id)
    campaign_id = await store.insert(
        conn,
        {
            "account_id": account_id,
            "user_id": principal.user.id,
            "list_id": base.list_id,
            "name": base.name,
            "sender": base.sender,
            "body": base.body,
            "schedule": base.schedule,
            "custom_string": base.custom_string,
            "source": base.source,
            "senders": {},
            "status": store.SCHEDULED if base.schedule else store.QUEUED,
            "max_contact_id": await store.max_contact_id(conn, account_id, base.list_id),
            "due_at": float(base.schedule or now),
            "ip_address": ip,
            "created_at": int(now),
            "channel": CHANNEL,
            "subject": plan.subject,
            "media_url": plan.media_url,
            **_media_values(found),
        },
    )
    return await get(conn, principal, campaign_id)


async def get(conn: AsyncConnection, principal: Principal, campaign_id: int) -> RowMapping:
    _require(principal)
    row = await store.get(conn, principal.account.id, campaign_id, CHANNEL)
    if row is None:
        raise NotFound(f"MMS campaign #{campaign_id} not found.")
    return row


async def counts(conn: AsyncConnection, principal: Principal, campaign_id: int) -> dict[str, int]:
    return await store.message_counts(conn, principal.account.id, campaign_id, CHANNEL)


async def page(conn: AsyncConnection, principal: Principal, params: ListQuery) -> Page:
    _require(principal)
    return await store.page(conn, principal.account.id, params, CHANNEL)


def merged(current: Mapping[Any, Any], body: Mapping[str, Any]) -> dict[str, Any]:
    """The campaign as it would be after an update (the router fetches a new media_file)."""
    return {
        "list_id": current["list_id"],
        "name": current["name"],
        "from": current["sender"],
        "body": current["body"],
        "subject": current["subject"],
        "media_file": current["media_url"],
        "schedule": current["schedule"],
        "custom_string": current["custom_string"],
        "source": current["source"],
        **{key: value for key, value in body.items() if value is not None},
    }


async def update(
    conn: AsyncConnection,
    principal: Principal,
    campaign_id: int,
    body: Mapping[str, Any],
    found: Media | None,
) -> RowMapping:
    """Change a campaign whose fan-out has not started; `found` is a new media file."""
    current = await get(conn, principal, campaign_id)
    now = time.time()
    plan = draft(merged(current, body), now)
    base = plan.base
    account_id = principal.account.id
    await owned_list(conn, account_id, base.list_id)
    changed = await store.update_unstarted(
        conn,
        account_id,
        campaign_id,
        {
            "list_id": base.list_id,
            "name": base.name,
            "sender": base.sender,
            "body": base.body,
            "schedule": base.schedule,
            "custom_string": base.custom_string,
            "source": base.source,
            "status": store.SCHEDULED if base.schedule else store.QUEUED,
            "max_contact_id": await store.max_contact_id(conn, account_id, base.list_id),
            "due_at": float(base.schedule or now),
            "subject": plan.subject,
            "media_url": plan.media_url,
            **(_media_values(found) if found is not None else {}),
        },
    )
    if not changed:
        raise InvalidInput(
            f"MMS campaign #{campaign_id} is {current['status'].lower()}: only a campaign "
            "not yet being sent can be changed."
        )
    return await get(conn, principal, campaign_id)


async def cancel(conn: AsyncConnection, principal: Principal, campaign_id: int) -> RowMapping:
    """Stop the fan-out and cancel (refunding) the campaign's messages still queued."""
    current = await get(conn, principal, campaign_id)
    account_id = principal.account.id
    if not await store.cancel(conn, account_id, campaign_id):
        raise InvalidInput(
            f"MMS campaign #{campaign_id} is {current['status'].lower()} and cannot be cancelled."
        )
    ids = await store.queued_message_ids(conn, account_id, campaign_id, CHANNEL)
    if ids:
        await outbound.cancel(conn, principal, CHANNEL, ids, now=time.time())
    return await get(conn, principal, campaign_id)
