"""Claiming rows of a table used as a queue: the one lease helper every queue shares.

A row is claimable while `due_at <= now`. Claiming pushes `due_at` to the end of the
lease and records the owner, so a worker that dies mid-work simply lets the lease run
out and another worker claims the row again (at least once, never lost). Messages and
Email Activity exports both claim through here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection


async def claim(
    conn: AsyncConnection,
    table: sa.Table,
    *,
    owner: str,
    now: float,
    lease: float,
    limit: int,
    returning: Iterable[sa.ColumnElement[Any]],
    where: Iterable[sa.ColumnElement[bool]] = (),
    values: Mapping[str, Any] | None = None,
) -> list[sa.RowMapping]:
    """Claim up to `limit` due rows, oldest due first. PostgreSQL: SKIP LOCKED lets many
    workers claim disjoint batches at once; SQLite: the database-wide write lock makes the
    single UPDATE the only claimer."""
    due = (
        sa.select(table.c.id)
        .where(table.c.due_at <= now, *where)
        .order_by(table.c.due_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    # On PostgreSQL `id = ANY(ARRAY(…))`: a pk lookup of the claimed ids. `IN (…)` made
    # a hash semi-join that read the whole table (every row when the backlog is large:
    # 64 of the 129 ms of a 1,000-row claim over 30,000 queued messages).
    chosen = (
        table.c.id == sa.any_(sa.func.array(due))
        if conn.dialect.name == "postgresql"
        else table.c.id.in_(due)
    )
    query = (
        table.update()
        .where(chosen, table.c.due_at <= now)
        .values(due_at=now + lease, lease_owner=owner, **(values or {}))
        .returning(*returning)
    )
    return list((await conn.execute(query)).mappings())


async def any_due(conn: AsyncConnection, table: sa.Table, *, now: float) -> bool:
    """Whether any row of `table` is due: a cheap read before the claiming write, so an
    idle poll writes nothing."""
    query = sa.select(table.c.id).where(table.c.due_at <= now).limit(1)
    return (await conn.execute(query)).first() is not None


def backoff(base: float, attempts: int) -> float:
    """Seconds before retry number `attempts`: exponential, `base ** attempts`."""
    return float(base**attempts)
