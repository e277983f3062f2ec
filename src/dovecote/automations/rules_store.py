"""Queries for automation rules (`automation_rules`), per account and kind."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from dovecote.storage.listing import Fields, ListQuery, Page, paginate
from dovecote.storage.tables import automation_rules as rules

RULE_FIELDS = Fields(
    columns={
        "rule_name": rules.c.rule_name,
        "action": rules.c.action,
        "action_address": rules.c.action_address,
        "enabled": rules.c.enabled,
        "dedicated_number": rules.c.dedicated_number,
    },
    text=frozenset({"rule_name", "action_address"}),
)


def _owned(account_id: int, kind: str) -> list[sa.ColumnElement[bool]]:
    return [rules.c.account_id == account_id, rules.c.kind == kind]


async def list_rules(conn: AsyncConnection, account_id: int, kind: str, params: ListQuery) -> Page:
    query = sa.select(rules).where(*_owned(account_id, kind))
    return await paginate(conn, query, params, RULE_FIELDS, [rules.c.id])


async def get_rule(
    conn: AsyncConnection, account_id: int, kind: str, rule_id: int
) -> sa.RowMapping | None:
    query = sa.select(rules).where(*_owned(account_id, kind), rules.c.id == rule_id)
    row: sa.RowMapping | None = (await conn.execute(query)).mappings().one_or_none()
    return row


async def insert_rule(conn: AsyncConnection, values: dict[str, Any]) -> sa.RowMapping:
    row: sa.RowMapping = (
        (await conn.execute(rules.insert().values(**values).returning(rules))).mappings().one()
    )
    return row


async def update_rule(
    conn: AsyncConnection, account_id: int, kind: str, rule_id: int, values: dict[str, Any]
) -> sa.RowMapping | None:
    query = (
        rules.update()
        .where(*_owned(account_id, kind), rules.c.id == rule_id)
        .values(**values)
        .returning(rules)
    )
    row: sa.RowMapping | None = (await conn.execute(query)).mappings().one_or_none()
    return row


async def delete_rule(conn: AsyncConnection, account_id: int, kind: str, rule_id: int) -> bool:
    query = rules.delete().where(*_owned(account_id, kind), rules.c.id == rule_id)
    return int((await conn.execute(query)).rowcount) == 1


async def enabled_rules(
    conn: AsyncConnection, account_ids: Sequence[int], kinds: Sequence[str]
) -> list[sa.RowMapping]:
    """Every enabled rule of these accounts and kinds, in rule order (oldest first)."""
    query = (
        sa.select(rules)
        .where(rules.c.account_id.in_(account_ids), rules.c.kind.in_(kinds), rules.c.enabled)
        .order_by(rules.c.id)
    )
    return list((await conn.execute(query)).mappings())
