"""Queries for allowed sender addresses (`email_addresses`), shared by every user of an account."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from dovecote.storage.listing import Fields, ListQuery, Page, paginate
from dovecote.storage.tables import email_addresses

ADDRESS_FIELDS = Fields(
    columns={
        "email_address_id": email_addresses.c.id,
        "email_address": email_addresses.c.email,
        "verified": email_addresses.c.verified,
        "date_added": email_addresses.c.created_at,
    },
    text=frozenset({"email_address"}),
)


def _owned(account_id: int, address_id: int) -> list[sa.ColumnElement[bool]]:
    return [email_addresses.c.account_id == account_id, email_addresses.c.id == address_id]


async def list_addresses(conn: AsyncConnection, account_id: int, params: ListQuery) -> Page:
    query = sa.select(email_addresses).where(email_addresses.c.account_id == account_id)
    return await paginate(conn, query, params, ADDRESS_FIELDS, [email_addresses.c.id])


async def get_address(
    conn: AsyncConnection, account_id: int, address_id: int
) -> sa.RowMapping | None:
    query = sa.select(email_addresses).where(*_owned(account_id, address_id))
    row: sa.RowMapping | None = (await conn.execute(query)).mappings().one_or_none()
    return row


async def find_address(conn: AsyncConnection, account_id: int, email: str) -> sa.RowMapping | None:
    """The account's row for `email`, compared case-insensitively (mailboxes are, in practice)."""
    query = (
        sa.select(email_addresses)
        .where(
            email_addresses.c.account_id == account_id,
            sa.func.lower(email_addresses.c.email) == email.lower(),
        )
        .limit(1)
    )
    row: sa.RowMapping | None = (await conn.execute(query)).mappings().one_or_none()
    return row


async def insert_address(conn: AsyncConnection, values: dict[str, Any]) -> sa.RowMapping:
    result = await conn.execute(
        email_addresses.insert().values(**values).returning(email_addresses)
    )
    row: sa.RowMapping = result.mappings().one()
    return row


async def update_address(
    conn: AsyncConnection, account_id: int, address_id: int, values: dict[str, Any]
) -> sa.RowMapping | None:
    query = (
        email_addresses.update()
        .where(*_owned(account_id, address_id))
        .values(**values)
        .returning(email_addresses)
    )
    row: sa.RowMapping | None = (await conn.execute(query)).mappings().one_or_none()
    return row


async def delete_address(conn: AsyncConnection, account_id: int, address_id: int) -> bool:
    query = email_addresses.delete().where(*_owned(account_id, address_id))
    return int((await conn.execute(query)).rowcount) == 1
