"""Queries for the dedicated-number inventory (`numbers`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from dovecote.storage.listing import Fields, ListQuery, Page, paginate
from dovecote.storage.tables import numbers

NUMBER_FIELDS = Fields(
    columns={
        "dedicated_number": numbers.c.number,
        "country": numbers.c.country,
        "number_type": numbers.c.number_type,
        "type": numbers.c.capabilities,
    },
    text=frozenset({"dedicated_number", "type"}),
)
IMPORT_COLUMNS = ("country", "number_type", "capabilities", "price_monthly_micros", "connector")


async def upsert(
    conn: AsyncConnection, rows: Sequence[dict[str, Any]], now: int
) -> tuple[int, int]:
    """Insert new numbers, update the sale terms of known ones (never their owner).
    Returns (created, updated)."""
    wanted = [row["number"] for row in rows]
    known: set[str] = set()
    for start in range(0, len(wanted), 500):
        query = sa.select(numbers.c.number).where(numbers.c.number.in_(wanted[start : start + 500]))
        known.update((await conn.execute(query)).scalars())
    fresh = [{**row, "created_at": now} for row in rows if row["number"] not in known]
    if fresh:
        await conn.execute(numbers.insert(), fresh)
    for row in rows:
        if row["number"] in known:
            values = {column: row[column] for column in IMPORT_COLUMNS}
            await conn.execute(
                numbers.update().where(numbers.c.number == row["number"]).values(**values)
            )
    return len(fresh), len(rows) - len(fresh)


async def get(conn: AsyncConnection, number: str) -> sa.RowMapping | None:
    query = sa.select(numbers).where(numbers.c.number == number)
    row: sa.RowMapping | None = (await conn.execute(query)).mappings().one_or_none()
    return row


async def assign(
    conn: AsyncConnection, number: str, account_id: int, user_id: int, now: int, paid_until: int
) -> bool:
    """Give a number that is still for sale to an account; False when someone has it."""
    result = await conn.execute(
        numbers.update()
        .where(numbers.c.number == number, numbers.c.account_id.is_(None))
        .values(account_id=account_id, user_id=user_id, purchased_at=now, paid_until=paid_until)
    )
    return int(result.rowcount) == 1


async def due_renewals(conn: AsyncConnection, now: int, limit: int) -> list[sa.RowMapping]:
    query = (
        sa.select(numbers)
        .where(numbers.c.account_id.is_not(None), numbers.c.paid_until <= now)
        .order_by(numbers.c.paid_until)
        .limit(limit)
    )
    return list((await conn.execute(query)).mappings())


async def extend(conn: AsyncConnection, row: sa.RowMapping, paid_until: int) -> bool:
    """Move a number's renewal on, if nobody did since `row` was read (several workers
    may run the job: only one renews a given period)."""
    result = await conn.execute(
        numbers.update()
        .where(
            numbers.c.id == row["id"],
            numbers.c.account_id == row["account_id"],
            numbers.c.paid_until == row["paid_until"],
        )
        .values(paid_until=paid_until)
    )
    return int(result.rowcount) == 1


async def release(conn: AsyncConnection, number_id: int) -> None:
    await conn.execute(
        numbers.update()
        .where(numbers.c.id == number_id)
        .values(
            account_id=None,
            user_id=None,
            purchased_at=None,
            paid_until=None,
            registration="NOT_REQUIRED",
        )
    )


async def list_owned(conn: AsyncConnection, account_id: int, params: ListQuery) -> Page:
    query = sa.select(numbers).where(numbers.c.account_id == account_id)
    return await paginate(
        conn, query, params, NUMBER_FIELDS, [numbers.c.purchased_at, numbers.c.id]
    )


async def search_available(
    conn: AsyncConnection, country: str, pattern: str | None, params: ListQuery
) -> Page:
    query = sa.select(numbers).where(numbers.c.country == country, numbers.c.account_id.is_(None))
    if pattern is not None:
        query = query.where(numbers.c.number.like(pattern))
    return await paginate(conn, query, params, NUMBER_FIELDS, [numbers.c.number])


async def owned_numbers(conn: AsyncConnection, account_id: int) -> set[str]:
    query = sa.select(numbers.c.number).where(numbers.c.account_id == account_id)
    return set((await conn.execute(query)).scalars())


async def owner(conn: AsyncConnection, number: str) -> tuple[int, int] | None:
    query = sa.select(numbers.c.account_id, numbers.c.user_id).where(
        numbers.c.number == number, numbers.c.account_id.is_not(None)
    )
    row = (await conn.execute(query)).one_or_none()
    return (int(row[0]), int(row[1])) if row else None


async def mark_registration(
    conn: AsyncConnection, account_id: int, country: str, number_type: str, status: str
) -> list[str]:
    result = await conn.execute(
        numbers.update()
        .where(
            numbers.c.account_id == account_id,
            numbers.c.country == country,
            sa.func.lower(numbers.c.number_type) == number_type.lower(),
        )
        .values(registration=status)
        .returning(numbers.c.number)
    )
    return sorted(result.scalars())
