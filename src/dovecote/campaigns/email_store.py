"""Queries for email campaigns (`email_campaigns`) and the messages they queued; the
lease and change queries are `campaigns.store`'s with `table=email_campaigns`."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from dovecote.storage.listing import Fields, ListQuery, Page, paginate
from dovecote.storage.tables import contact_lists, events, messages, suppressions
from dovecote.storage.tables import email_campaigns as sc

SCHEDULED: Final = "Scheduled"
QUEUED: Final = "Queued"
SENDING: Final = "Sending"
SENT: Final = "Sent"
CANCELLED: Final = "Cancelled"

FIELDS = Fields(
    columns={
        "email_campaign_id": sc.c.id,
        "name": sc.c.name,
        "list_id": sc.c.list_id,
        "status": sc.c.status,
        "subject": sc.c.subject,
        "body": sc.c.body,
        "date_added": sc.c.created_at,
    },
    text=frozenset({"name", "subject", "body", "status"}),
)

HISTORY_FIELDS = Fields(
    columns={
        "message_id": messages.c.id,
        "to_address": messages.c.recipient,
        "status": messages.c.status,
        "date_added": messages.c.created_at,
    },
    text=frozenset({"to_address", "status"}),
)


def source_tag(campaign_id: int) -> str:
    """`messages.source` of a campaign's messages."""
    return f"email-campaign:{campaign_id}"


def _select(account_id: int) -> sa.Select[Any]:
    return (
        sa.select(sc, contact_lists.c.name.label("list_name"))
        .outerjoin(contact_lists, contact_lists.c.id == sc.c.list_id)
        .where(sc.c.account_id == account_id)
    )


async def insert(conn: AsyncConnection, values: Mapping[str, Any]) -> int:
    result = await conn.execute(sc.insert().values(**values).returning(sc.c.id))
    return int(result.scalar_one())


async def get(conn: AsyncConnection, account_id: int, campaign_id: int) -> RowMapping | None:
    query = _select(account_id).where(sc.c.id == campaign_id)
    row: RowMapping | None = (await conn.execute(query)).mappings().one_or_none()
    return row


async def page(conn: AsyncConnection, account_id: int, params: ListQuery) -> Page:
    return await paginate(conn, _select(account_id), params, FIELDS, [sc.c.id.desc()])


async def cancel_sent(conn: AsyncConnection, account_id: int, campaign_id: int) -> bool:
    """Mark a fanned-out campaign cancelled (its caller cancels the emails still queued)."""
    query = (
        sc.update()
        .where(sc.c.account_id == account_id, sc.c.id == campaign_id, sc.c.status == SENT)
        .values(status=CANCELLED)
    )
    return int((await conn.execute(query)).rowcount) == 1


async def queued_message_ids(conn: AsyncConnection, account_id: int, campaign_id: int) -> list[str]:
    query = sa.select(messages.c.id).where(
        messages.c.account_id == account_id,
        messages.c.source == source_tag(campaign_id),
        messages.c.lease_owner.is_(None),
        messages.c.status == "queued",
    )
    return [str(value) for value in (await conn.execute(query)).scalars()]


async def message_counts(
    conn: AsyncConnection, account_id: int, campaign_id: int
) -> dict[str, int]:
    query = (
        sa.select(messages.c.status, sa.func.count())
        .where(messages.c.account_id == account_id, messages.c.source == source_tag(campaign_id))
        .group_by(messages.c.status)
    )
    return {str(status): int(count) for status, count in (await conn.execute(query)).all()}


# --- history ------------------------------------------------------------------------------


def _history(account_id: int, campaign_id: int) -> sa.Select[Any]:
    return sa.select(messages).where(
        messages.c.account_id == account_id, messages.c.source == source_tag(campaign_id)
    )


async def history_page(
    conn: AsyncConnection, account_id: int, campaign_id: int, params: ListQuery
) -> Page:
    return await paginate(
        conn, _history(account_id, campaign_id), params, HISTORY_FIELDS, [messages.c.id]
    )


async def stream_history(
    engine: AsyncEngine, account_id: int, campaign_id: int, *, chunk: int = 500
) -> AsyncIterator[list[RowMapping]]:
    """Every message of the campaign, `chunk` rows at a time, each chunk in its own short
    connection (keyset on id) so an export never holds SQLite's single connection."""
    query = _history(account_id, campaign_id).order_by(messages.c.id).limit(chunk)
    last: str | None = None
    while True:
        page = query if last is None else query.where(messages.c.id > last)
        async with engine.connect() as conn:
            rows = list((await conn.execute(page)).mappings())
        if not rows:
            return
        yield rows
        last = str(rows[-1]["id"])


# --- engagement -----------------------------------------------------------------------------

ENGAGEMENT: Final = ("open", "click", "bounce", "spamreport")


async def engagement(
    conn: AsyncConnection, account_id: int, campaign_ids: Sequence[int]
) -> dict[int, dict[str, int]]:
    """Per campaign: its emails' open, click, bounce and spam-report events, and how many
    of its recipients are now unsubscribed (`unsubscribe`)."""
    if not campaign_ids:
        return {}
    tags = {source_tag(campaign_id): campaign_id for campaign_id in campaign_ids}
    found: dict[int, dict[str, int]] = {campaign_id: {} for campaign_id in campaign_ids}
    query = (
        sa.select(messages.c.source, events.c.type, sa.func.count())
        .select_from(messages.join(events, events.c.message_id == messages.c.id))
        .where(
            messages.c.account_id == account_id,
            messages.c.source.in_(list(tags)),
            events.c.type.in_(ENGAGEMENT),
        )
        .group_by(messages.c.source, events.c.type)
    )
    for source, kind, count in (await conn.execute(query)).all():
        found[tags[source]][str(kind)] = int(count)
    unsubscribed = (
        sa.select(messages.c.source, sa.func.count())
        .select_from(
            messages.join(
                suppressions,
                sa.and_(
                    suppressions.c.account_id == messages.c.account_id,
                    suppressions.c.email == sa.func.lower(messages.c.recipient),
                    suppressions.c.reason == "unsubscribe",
                ),
            )
        )
        .where(messages.c.account_id == account_id, messages.c.source.in_(list(tags)))
        .group_by(messages.c.source)
    )
    for source, count in (await conn.execute(unsubscribed)).all():
        found[tags[source]]["unsubscribe"] = int(count)
    return found


async def message_engagement(
    conn: AsyncConnection, message_ids: Sequence[str]
) -> dict[str, dict[str, int]]:
    """Per message: its open, click, bounce and spam-report events."""
    found: dict[str, dict[str, int]] = {}
    if not message_ids:
        return found
    query = (
        sa.select(events.c.message_id, events.c.type, sa.func.count())
        .where(events.c.message_id.in_(list(message_ids)), events.c.type.in_(ENGAGEMENT))
        .group_by(events.c.message_id, events.c.type)
    )
    for message_id, kind, count in (await conn.execute(query)).all():
        found.setdefault(str(message_id), {})[str(kind)] = int(count)
    return found
