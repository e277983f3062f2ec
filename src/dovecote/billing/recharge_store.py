"""Queries for saved payment cards and recharge transactions."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from dovecote.storage.listing import Fields, ListQuery, Page, paginate
from dovecote.storage.tables import payment_cards, recharge_transactions

FIELDS = Fields(
    {
        "invoice_number": recharge_transactions.c.id,
        "amount": recharge_transactions.c.amount_micros,
        "currency": recharge_transactions.c.currency,
        "date": recharge_transactions.c.created_at,
    }
)


async def get_card(conn: AsyncConnection, account_id: int) -> sa.RowMapping | None:
    query = sa.select(payment_cards).where(payment_cards.c.account_id == account_id)
    return (await conn.execute(query)).mappings().one_or_none()


async def save_card(conn: AsyncConnection, values: dict[str, Any]) -> None:
    """One card per account: a new card replaces the old one (delete + insert works the same
    on both backends, and the caller's transaction makes it one change)."""
    account_id = values["account_id"]
    await conn.execute(payment_cards.delete().where(payment_cards.c.account_id == account_id))
    await conn.execute(payment_cards.insert().values(**values))


async def insert_transaction(conn: AsyncConnection, values: dict[str, Any]) -> None:
    await conn.execute(recharge_transactions.insert().values(**values))


async def get_transaction(
    conn: AsyncConnection, account_id: int, transaction_id: str
) -> sa.RowMapping | None:
    query = sa.select(recharge_transactions).where(
        recharge_transactions.c.account_id == account_id,
        recharge_transactions.c.id == transaction_id,
    )
    return (await conn.execute(query)).mappings().one_or_none()


async def list_transactions(conn: AsyncConnection, account_id: int, params: ListQuery) -> Page:
    query = sa.select(recharge_transactions).where(recharge_transactions.c.account_id == account_id)
    order = [recharge_transactions.c.created_at.desc(), recharge_transactions.c.id.desc()]
    return await paginate(conn, query, params, FIELDS, order)
