"""Queries for own numbers, their verifications, alpha tags and default senders."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from dovecote.storage.tables import (
    alpha_tags,
    default_senders,
    own_number_verifications,
    own_numbers,
)
from dovecote.storage.tables import numbers as inventory

MAX_LISTED = 1000  # one account's own numbers, tags or defaults: a handful in practice


async def insert(conn: AsyncConnection, table: sa.Table, values: dict[str, Any]) -> sa.RowMapping:
    row: sa.RowMapping = (
        (await conn.execute(table.insert().values(**values).returning(table))).mappings().one()
    )
    return row


async def get(
    conn: AsyncConnection, table: sa.Table, account_id: int, row_id: str
) -> sa.RowMapping | None:
    query = sa.select(table).where(table.c.account_id == account_id, table.c.id == row_id)
    row: sa.RowMapping | None = (await conn.execute(query)).mappings().one_or_none()
    return row


async def update(
    conn: AsyncConnection, table: sa.Table, account_id: int, row_id: str, values: dict[str, Any]
) -> sa.RowMapping | None:
    query = (
        table.update()
        .where(table.c.account_id == account_id, table.c.id == row_id)
        .values(**values)
        .returning(table)
    )
    row: sa.RowMapping | None = (await conn.execute(query)).mappings().one_or_none()
    return row


async def delete(conn: AsyncConnection, table: sa.Table, account_id: int, row_id: str) -> bool:
    query = table.delete().where(table.c.account_id == account_id, table.c.id == row_id)
    return int((await conn.execute(query)).rowcount) == 1


async def listing(
    conn: AsyncConnection,
    table: sa.Table,
    account_id: int,
    *,
    descending: bool = False,
    limit: int = MAX_LISTED,
    offset: int = 0,
) -> Sequence[sa.RowMapping]:
    order = (
        (table.c.created_at.desc(), table.c.id.desc())
        if descending
        else (
            table.c.created_at,
            table.c.id,
        )
    )
    query = (
        sa.select(table)
        .where(table.c.account_id == account_id)
        .order_by(*order)
        .limit(limit)
        .offset(offset)
    )
    return list((await conn.execute(query)).mappings())


async def own_number_by_phone(
    conn: AsyncConnection, account_id: int, phone_number: str
) -> sa.RowMapping | None:
    query = sa.select(own_numbers).where(
        own_numbers.c.account_id == account_id, own_numbers.c.phone_number == phone_number
    )
    row: sa.RowMapping | None = (await conn.execute(query)).mappings().one_or_none()
    return row


async def verifications_since(
    conn: AsyncConnection, account_id: int, own_number_id: str | None, since: int
) -> int:
    query = sa.select(sa.func.count()).where(
        own_number_verifications.c.account_id == account_id,
        own_number_verifications.c.created_at >= since,
    )
    if own_number_id is not None:
        query = query.where(own_number_verifications.c.own_number_id == own_number_id)
    return int((await conn.execute(query)).scalar_one())


async def spend_attempt(
    conn: AsyncConnection, verification_id: str, now: int
) -> sa.RowMapping | None:
    """Take one attempt of a pending, unexpired verification; None when none is left.
    One conditional UPDATE: parallel guesses cannot get more tries than allowed."""
    table = own_number_verifications
    query = (
        table.update()
        .where(
            table.c.id == verification_id,
            table.c.status == "PENDING",
            table.c.remaining_attempts > 0,
            table.c.expires_at > now,
        )
        .values(remaining_attempts=table.c.remaining_attempts - 1, updated_at=now)
        .returning(table)
    )
    row: sa.RowMapping | None = (await conn.execute(query)).mappings().one_or_none()
    return row


async def enabled_defaults(conn: AsyncConnection, account_id: int) -> Sequence[sa.RowMapping]:
    query = sa.select(default_senders).where(
        default_senders.c.account_id == account_id,
        default_senders.c.status == "ENABLED",
        default_senders.c.product_type == "SMS",
    )
    return list((await conn.execute(query)).mappings())


async def sender_rows(conn: AsyncConnection, account_id: int) -> list[tuple[str, str, str]]:
    """(kind, value, id) of every sender the account may use, in one round trip: `d` a
    bought number, `o` a verified own number, `t` an approved alpha tag."""
    bought = sa.select(
        sa.literal("d").label("kind"),
        inventory.c.number.label("value"),
        sa.cast(inventory.c.id, sa.String).label("id"),
    ).where(inventory.c.account_id == account_id)
    own = sa.select(sa.literal("o"), own_numbers.c.phone_number, own_numbers.c.id).where(
        own_numbers.c.account_id == account_id, own_numbers.c.status == "VERIFIED"
    )
    tags = sa.select(sa.literal("t"), alpha_tags.c.alpha_tag, alpha_tags.c.id).where(
        alpha_tags.c.account_id == account_id, alpha_tags.c.status == "APPROVED"
    )
    result = await conn.execute(sa.union_all(bought, own, tags))
    return [(str(kind), str(value), str(row_id)) for kind, value, row_id in result]
