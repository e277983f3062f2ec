"""Queries for email-to-SMS: allowed sender addresses and stripped strings."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from dovecote.storage.listing import Fields, ListQuery, Page, paginate
from dovecote.storage.tables import email_sms_addresses as addresses
from dovecote.storage.tables import email_sms_stripped_strings as strips

ADDRESS_FIELDS = Fields(
    columns={
        "email_address_id": addresses.c.id,
        "email_address": addresses.c.email_address,
        "from": addresses.c.sender,
    },
    text=frozenset({"email_address", "from"}),
)
STRIP_FIELDS = Fields(
    columns={"rule_id": strips.c.id, "strip_string": strips.c.strip_string},
    text=frozenset({"strip_string"}),
)


def _table(kind: str) -> sa.Table:
    return addresses if kind == "address" else strips


async def list_rows(conn: AsyncConnection, kind: str, account_id: int, params: ListQuery) -> Page:
    table = _table(kind)
    query = sa.select(table).where(table.c.account_id == account_id)
    fields = ADDRESS_FIELDS if kind == "address" else STRIP_FIELDS
    return await paginate(conn, query, params, fields, [table.c.id])


async def get(
    conn: AsyncConnection, kind: str, account_id: int, row_id: int
) -> sa.RowMapping | None:
    table = _table(kind)
    query = sa.select(table).where(table.c.account_id == account_id, table.c.id == row_id)
    row: sa.RowMapping | None = (await conn.execute(query)).mappings().one_or_none()
    return row


async def insert(conn: AsyncConnection, kind: str, values: dict[str, Any]) -> sa.RowMapping:
    table = _table(kind)
    row: sa.RowMapping = (
        (await conn.execute(table.insert().values(**values).returning(table))).mappings().one()
    )
    return row


async def update(
    conn: AsyncConnection, kind: str, account_id: int, row_id: int, values: dict[str, Any]
) -> sa.RowMapping | None:
    table = _table(kind)
    query = (
        table.update()
        .where(table.c.account_id == account_id, table.c.id == row_id)
        .values(**values)
        .returning(table)
    )
    row: sa.RowMapping | None = (await conn.execute(query)).mappings().one_or_none()
    return row


async def delete(conn: AsyncConnection, kind: str, account_id: int, row_id: int) -> bool:
    table = _table(kind)
    query = table.delete().where(table.c.account_id == account_id, table.c.id == row_id)
    return int((await conn.execute(query)).rowcount) == 1


async def senders_matching(conn: AsyncConnection, address: str) -> Sequence[sa.RowMapping]:
    """Allowed-address rows for `address` (lower case): exact ones first, then `*@domain`,
    oldest first within each."""
    domain = address.rpartition("@")[2]
    wanted = [address, f"*@{domain}"]
    query = sa.select(addresses).where(addresses.c.email_address.in_(wanted))
    rows = list((await conn.execute(query)).mappings())
    return sorted(rows, key=lambda row: (row["email_address"] != address, row["id"]))


async def strip_strings(conn: AsyncConnection, account_id: int) -> list[str]:
    query = sa.select(strips.c.strip_string).where(strips.c.account_id == account_id)
    return list((await conn.execute(query.order_by(strips.c.id))).scalars())
