"""Queries for message templates (`templates`), shared by every user of an account."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from dovecote.storage.listing import Fields, ListQuery, Page, paginate
from dovecote.storage.tables import templates

TEMPLATE_FIELDS = Fields(
    columns={
        "template_id": templates.c.id,
        "template_name": templates.c.name,
        "body": templates.c.body,
    },
    text=frozenset({"template_name", "body"}),
)


def _owned(account_id: int, channel: str) -> list[sa.ColumnElement[bool]]:
    return [templates.c.account_id == account_id, templates.c.channel == channel]


async def list_templates(
    conn: AsyncConnection, account_id: int, channel: str, params: ListQuery
) -> Page:
    query = sa.select(templates).where(*_owned(account_id, channel))
    return await paginate(conn, query, params, TEMPLATE_FIELDS, [templates.c.id])


async def get_template(
    conn: AsyncConnection, account_id: int, channel: str, template_id: int
) -> sa.RowMapping | None:
    query = sa.select(templates).where(*_owned(account_id, channel), templates.c.id == template_id)
    row: sa.RowMapping | None = (await conn.execute(query)).mappings().one_or_none()
    return row


async def insert_template(conn: AsyncConnection, values: dict[str, Any]) -> sa.RowMapping:
    result = await conn.execute(templates.insert().values(**values).returning(templates))
    row: sa.RowMapping = result.mappings().one()
    return row


async def update_template(
    conn: AsyncConnection, account_id: int, channel: str, template_id: int, values: dict[str, Any]
) -> sa.RowMapping | None:
    query = (
        templates.update()
        .where(*_owned(account_id, channel), templates.c.id == template_id)
        .values(**values)
        .returning(templates)
    )
    row: sa.RowMapping | None = (await conn.execute(query)).mappings().one_or_none()
    return row


async def delete_template(
    conn: AsyncConnection, account_id: int, channel: str, template_id: int
) -> bool:
    query = templates.delete().where(*_owned(account_id, channel), templates.c.id == template_id)
    return int((await conn.execute(query)).rowcount) == 1
