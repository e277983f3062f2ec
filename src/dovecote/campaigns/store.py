"""Queries for SMS and MMS campaigns (`sms_campaigns`, `channel` tells them apart) and the
messages they queued; the lease queries (claim, checkpoint, finish, release, cancel) serve
email campaigns too (`table=email_campaigns`: the same lease and counter columns)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from dovecote.pipeline import leases
from dovecote.storage.listing import Fields, ListQuery, Page, paginate
from dovecote.storage.tables import contact_lists, contacts, messages
from dovecote.storage.tables import sms_campaigns as sc

SCHEDULED: Final = "Scheduled"
QUEUED: Final = "Queued"
SENDING: Final = "Sending"
SENT: Final = "Sent"
CANCELLED: Final = "Cancelled"

FIELDS = Fields(
    columns={
        "sms_campaign_id": sc.c.id,
        "name": sc.c.name,
        "list_id": sc.c.list_id,
        "status": sc.c.status,
        "body": sc.c.body,
        "date_added": sc.c.created_at,
    },
    text=frozenset({"name", "body", "status"}),
)


def source_tag(campaign_id: int, channel: str = "sms") -> str:
    """`messages.source` of a campaign's messages."""
    return f"{channel}-campaign:{campaign_id}"


def _select(account_id: int, channel: str) -> sa.Select[Any]:
    return (
        sa.select(sc, contact_lists.c.name.label("list_name"))
        .outerjoin(contact_lists, contact_lists.c.id == sc.c.list_id)
        .where(sc.c.account_id == account_id, sc.c.channel == channel)
    )


async def insert(conn: AsyncConnection, values: Mapping[str, Any]) -> int:
    result = await conn.execute(sc.insert().values(**values).returning(sc.c.id))
    return int(result.scalar_one())


async def get(
    conn: AsyncConnection, account_id: int, campaign_id: int, channel: str = "sms"
) -> RowMapping | None:
    query = _select(account_id, channel).where(sc.c.id == campaign_id)
    row: RowMapping | None = (await conn.execute(query)).mappings().one_or_none()
    return row


async def page(
    conn: AsyncConnection, account_id: int, params: ListQuery, channel: str = "sms"
) -> Page:
    return await paginate(conn, _select(account_id, channel), params, FIELDS, [sc.c.id.desc()])


async def update_unstarted(
    conn: AsyncConnection,
    account_id: int,
    campaign_id: int,
    values: Mapping[str, Any],
    *,
    table: sa.Table = sc,
) -> bool:
    """Change a campaign no worker has started (nothing fanned out yet)."""
    query = (
        table.update()
        .where(
            table.c.account_id == account_id,
            table.c.id == campaign_id,
            table.c.status.in_([SCHEDULED, QUEUED]),
            table.c.cursor == 0,
            table.c.lease_owner.is_(None),
        )
        .values(**values)
    )
    return int((await conn.execute(query)).rowcount) == 1


async def cancel(
    conn: AsyncConnection, account_id: int, campaign_id: int, *, table: sa.Table = sc
) -> bool:
    """Stop the fan-out: a worker mid-batch loses its lease guard and rolls back."""
    query = (
        table.update()
        .where(
            table.c.account_id == account_id,
            table.c.id == campaign_id,
            table.c.status.in_([SCHEDULED, QUEUED, SENDING]),
        )
        .values(status=CANCELLED, due_at=None, lease_owner=None)
    )
    return int((await conn.execute(query)).rowcount) == 1


async def queued_message_ids(
    conn: AsyncConnection, account_id: int, campaign_id: int, channel: str = "sms"
) -> list[str]:
    query = sa.select(messages.c.id).where(
        messages.c.account_id == account_id,
        messages.c.source == source_tag(campaign_id, channel),
        messages.c.lease_owner.is_(None),
        messages.c.status == "queued",
    )
    return [str(value) for value in (await conn.execute(query)).scalars()]


async def message_counts(
    conn: AsyncConnection, account_id: int, campaign_id: int, channel: str = "sms"
) -> dict[str, int]:
    tag = source_tag(campaign_id, channel)
    query = (
        sa.select(messages.c.status, sa.func.count())
        .where(messages.c.account_id == account_id, messages.c.source == tag)
        .group_by(messages.c.status)
    )
    return {str(status): int(count) for status, count in (await conn.execute(query)).all()}


async def max_contact_id(conn: AsyncConnection, account_id: int, list_id: int) -> int:
    query = sa.select(sa.func.max(contacts.c.id)).where(
        contacts.c.account_id == account_id, contacts.c.list_id == list_id
    )
    return int((await conn.execute(query)).scalar_one_or_none() or 0)


# --- the fan-out ------------------------------------------------------------------------


async def any_due(conn: AsyncConnection, *, now: float, table: sa.Table = sc) -> bool:
    return await leases.any_due(conn, table, now=now)


async def claim(
    conn: AsyncConnection, *, owner: str, now: float, lease: float, table: sa.Table = sc
) -> list[RowMapping]:
    return await leases.claim(
        conn,
        table,
        owner=owner,
        now=now,
        lease=lease,
        limit=1,
        where=[table.c.status.in_([SCHEDULED, QUEUED, SENDING])],
        values={"status": SENDING, "attempts": table.c.attempts + 1},
        returning=list(table.c),
    )


async def checkpoint(
    conn: AsyncConnection,
    campaign_id: int,
    owner: str,
    *,
    cursor: int,
    queued: int,
    opted_out: int,
    refused: int,
    price_micros: int,
    until: float,
    table: sa.Table = sc,
) -> bool:
    """Record a batch in its own transaction, guarded by the lease (False: lost it, or the
    campaign was cancelled meanwhile; the caller rolls the batch back)."""
    result = await conn.execute(
        table.update()
        .where(table.c.id == campaign_id, table.c.lease_owner == owner, table.c.status == SENDING)
        .values(
            cursor=cursor,
            queued=table.c.queued + queued,
            opted_out=table.c.opted_out + opted_out,
            refused=table.c.refused + refused,
            price_micros=table.c.price_micros + price_micros,
            due_at=until,
        )
    )
    return int(result.rowcount) == 1


async def finish(
    conn: AsyncConnection, campaign_id: int, owner: str, *, table: sa.Table = sc
) -> bool:
    result = await conn.execute(
        table.update()
        .where(table.c.id == campaign_id, table.c.lease_owner == owner, table.c.status == SENDING)
        .values(status=SENT, due_at=None, lease_owner=None)
    )
    return int(result.rowcount) == 1


async def release(
    conn: AsyncConnection, campaign_id: int, owner: str, *, due_at: float, table: sa.Table = sc
) -> None:
    await conn.execute(
        table.update()
        .where(table.c.id == campaign_id, table.c.lease_owner == owner, table.c.status == SENDING)
        .values(due_at=due_at, lease_owner=None)
    )
