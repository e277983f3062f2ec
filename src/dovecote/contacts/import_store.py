"""Queries for contact imports (`contact_imports`) and their per-row reports."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from dovecote.pipeline import leases
from dovecote.storage.tables import contact_import_errors as errors
from dovecote.storage.tables import contact_imports as ci

PENDING: Final = "pending"
RUNNING: Final = "running"
DONE: Final = "done"
FAILED: Final = "failed"


async def insert(conn: AsyncConnection, values: Mapping[str, Any]) -> None:
    await conn.execute(ci.insert().values(**values))


async def get(
    conn: AsyncConnection, account_id: int, list_id: int, import_id: str
) -> RowMapping | None:
    query = sa.select(ci).where(
        ci.c.id == import_id, ci.c.account_id == account_id, ci.c.list_id == list_id
    )
    row: RowMapping | None = (await conn.execute(query)).mappings().one_or_none()
    return row


async def report(conn: AsyncConnection, import_id: str, limit: int) -> list[RowMapping]:
    query = (
        sa.select(errors.c.row_number, errors.c.reason)
        .where(errors.c.import_id == import_id)
        .order_by(errors.c.row_number)
        .limit(limit)
    )
    return list((await conn.execute(query)).mappings())


async def any_due(conn: AsyncConnection, *, now: float) -> bool:
    return await leases.any_due(conn, ci, now=now)


async def give_up_exhausted(
    conn: AsyncConnection, *, now: float, max_attempts: int, error: str
) -> None:
    await conn.execute(
        ci.update()
        .where(ci.c.due_at <= now, ci.c.attempts >= max_attempts)
        .values(status=FAILED, due_at=None, lease_owner=None, error=error, finished_at=now)
    )


async def claim(
    conn: AsyncConnection, *, owner: str, now: float, lease: float, max_attempts: int
) -> list[RowMapping]:
    return await leases.claim(
        conn,
        ci,
        owner=owner,
        now=now,
        lease=lease,
        limit=1,
        where=[ci.c.attempts < max_attempts],
        values={"status": RUNNING, "attempts": ci.c.attempts + 1},
        returning=list(ci.c),
    )


async def checkpoint(
    conn: AsyncConnection,
    import_id: str,
    owner: str,
    *,
    next_row: int,
    imported: int,
    refused: int,
    duplicates: int,
    until: float,
) -> bool:
    """Record a committed batch (in the batch's transaction) and extend the lease; False
    when another worker has taken the import over (the caller then rolls back)."""
    result = await conn.execute(
        ci.update()
        .where(ci.c.id == import_id, ci.c.lease_owner == owner, ci.c.status == RUNNING)
        .values(
            next_row=next_row,
            imported=ci.c.imported + imported,
            refused=ci.c.refused + refused,
            duplicates=ci.c.duplicates + duplicates,
            due_at=until,
        )
    )
    return int(result.rowcount) == 1


async def add_errors(conn: AsyncConnection, rows: Sequence[Mapping[str, Any]]) -> None:
    if rows:
        await conn.execute(errors.insert(), list(rows))


async def finish(
    conn: AsyncConnection, import_id: str, owner: str, *, status: str, now: float, error: str | None
) -> bool:
    result = await conn.execute(
        ci.update()
        .where(ci.c.id == import_id, ci.c.lease_owner == owner, ci.c.status == RUNNING)
        .values(status=status, due_at=None, lease_owner=None, finished_at=now, error=error)
    )
    return int(result.rowcount) == 1


async def retry_later(
    conn: AsyncConnection, import_id: str, owner: str, *, due_at: float, error: str
) -> None:
    await conn.execute(
        ci.update()
        .where(ci.c.id == import_id, ci.c.lease_owner == owner)
        .values(status=PENDING, due_at=due_at, lease_owner=None, error=error)
    )


async def release(conn: AsyncConnection, import_id: str, owner: str, *, now: float) -> None:
    await conn.execute(
        ci.update()
        .where(ci.c.id == import_id, ci.c.lease_owner == owner)
        .values(status=PENDING, due_at=now, lease_owner=None, attempts=ci.c.attempts - 1)
    )
