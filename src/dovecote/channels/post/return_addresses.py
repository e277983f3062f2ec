"""An account's return addresses (`/v3/post/return-addresses`): what a letter names as
its sender. Every user of the account sees the account's addresses, as ClickSend does."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from dovecote.channels.post.address import Address
from dovecote.core.errors import NotFound
from dovecote.core.models import Principal
from dovecote.storage.listing import Fields, ListQuery, Page, paginate
from dovecote.storage.tables import post_return_addresses as table

FIELDS = Fields(
    columns={"return_address_id": table.c.id, "address_name": table.c.address_name},
    text=frozenset({"address_name"}),
)


def render(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "return_address_id": row["id"],
        "user_id": row["user_id"],
        "address_name": row["address_name"],
        "address_line_1": row["address_line_1"],
        "address_line_2": row["address_line_2"],
        "address_city": row["address_city"],
        "address_state": row["address_state"],
        "address_postal_code": row["address_postal_code"],
        "address_country": row["address_country"],
    }


async def create(
    conn: AsyncConnection, principal: Principal, address: Address, now: int
) -> Mapping[Any, Any]:
    values = {
        "account_id": principal.account.id,
        "user_id": principal.user.id,
        **address.fields(),
        "created_at": now,
    }
    result = await conn.execute(table.insert().values(**values).returning(table.c.id))
    return {"id": result.scalar_one(), **values}


async def get(conn: AsyncConnection, principal: Principal, address_id: int) -> Mapping[Any, Any]:
    query = sa.select(table).where(
        table.c.account_id == principal.account.id, table.c.id == address_id
    )
    row = (await conn.execute(query)).mappings().first()
    if row is None:
        raise NotFound(f"No return address {address_id}.")
    return row


async def update(
    conn: AsyncConnection, principal: Principal, address_id: int, address: Address
) -> Mapping[Any, Any]:
    await get(conn, principal, address_id)
    await conn.execute(
        table.update()
        .where(table.c.account_id == principal.account.id, table.c.id == address_id)
        .values(**address.fields())
    )
    return await get(conn, principal, address_id)


async def delete(conn: AsyncConnection, principal: Principal, address_id: int) -> None:
    """Letters already sent keep the id they named; history then shows no address for it."""
    result = await conn.execute(
        table.delete().where(table.c.account_id == principal.account.id, table.c.id == address_id)
    )
    if not result.rowcount:
        raise NotFound(f"No return address {address_id}.")


async def listing(conn: AsyncConnection, principal: Principal, params: ListQuery) -> Page:
    query = sa.select(table).where(table.c.account_id == principal.account.id)
    return await paginate(conn, query, params, FIELDS, [table.c.id])


async def many(
    conn: AsyncConnection, account_id: int, ids: set[int]
) -> dict[int, Mapping[Any, Any]]:
    if not ids:
        return {}
    query = sa.select(table).where(table.c.account_id == account_id, table.c.id.in_(ids))
    return {row["id"]: row for row in (await conn.execute(query)).mappings()}
