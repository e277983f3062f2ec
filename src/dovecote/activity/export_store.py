"""Writes and reads of `activity_exports`: Email Activity CSV downloads as queued jobs.

Claiming is the message queue's (`pipeline/leases.py`): a row is claimable while
`due_at <= now`; the claim pushes `due_at` to the end of the lease and records the
owner, so a worker that dies mid-export lets the lease run out and another worker
claims the row again. Every later write is conditional on still holding the lease.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from dovecote.pipeline import leases
from dovecote.storage.tables import activity_exports as ax

PENDING = "pending"
RUNNING = "running"
READY = "ready"
FAILED = "failed"


async def insert(conn: AsyncConnection, values: dict[str, Any]) -> None:
    await conn.execute(ax.insert().values(status=PENDING, attempts=0, **values))


async def get(conn: AsyncConnection, export_id: str) -> RowMapping | None:
    row = (await conn.execute(sa.select(ax).where(ax.c.id == export_id))).mappings().first()
    return row


async def any_due(conn: AsyncConnection, *, now: float) -> bool:
    query = sa.select(ax.c.id).where(ax.c.due_at <= now).limit(1)
    return (await conn.execute(query)).first() is not None


async def give_up_exhausted(
    conn: AsyncConnection, *, now: float, max_attempts: int, error: str
) -> int:
    """Fail due rows that have used every attempt (their last worker died mid-export)."""
    result = await conn.execute(
        ax.update()
        .where(ax.c.due_at <= now, ax.c.attempts >= max_attempts)
        .values(status=FAILED, due_at=None, lease_owner=None, error=error, finished_at=now)
    )
    return result.rowcount


async def claim(
    conn: AsyncConnection, *, owner: str, now: float, lease: float, limit: int, max_attempts: int
) -> list[RowMapping]:
    """Claim up to `limit` due exports, counting an attempt each (`pipeline.leases.claim`)."""
    return await leases.claim(
        conn,
        ax,
        owner=owner,
        now=now,
        lease=lease,
        limit=limit,
        where=[ax.c.attempts < max_attempts],
        values={"status": RUNNING, "attempts": ax.c.attempts + 1},
        returning=list(ax.c),
    )


async def renew(conn: AsyncConnection, export_id: str, owner: str, until: float) -> bool:
    """Extend a held lease; False if another worker has taken the row over."""
    result = await conn.execute(
        ax.update()
        .where(ax.c.id == export_id, ax.c.lease_owner == owner, ax.c.status == RUNNING)
        .values(due_at=until)
    )
    return result.rowcount == 1


async def mark_ready(
    conn: AsyncConnection,
    export_id: str,
    owner: str,
    *,
    file_path: str,
    row_count: int,
    now: float,
    expires_at: float,
) -> bool:
    result = await conn.execute(
        ax.update()
        .where(ax.c.id == export_id, ax.c.lease_owner == owner, ax.c.status == RUNNING)
        .values(
            status=READY,
            due_at=None,
            lease_owner=None,
            error=None,
            file_path=file_path,
            row_count=row_count,
            finished_at=now,
            expires_at=expires_at,
        )
    )
    return result.rowcount == 1


async def retry_later(
    conn: AsyncConnection, export_id: str, owner: str, *, due_at: float, error: str
) -> bool:
    result = await conn.execute(
        ax.update()
        .where(ax.c.id == export_id, ax.c.lease_owner == owner, ax.c.status == RUNNING)
        .values(status=PENDING, due_at=due_at, lease_owner=None, error=error)
    )
    return result.rowcount == 1


async def release(conn: AsyncConnection, export_id: str, owner: str, *, now: float) -> bool:
    """Hand a claimed export back at once without spending an attempt (a graceful stop)."""
    result = await conn.execute(
        ax.update()
        .where(ax.c.id == export_id, ax.c.lease_owner == owner, ax.c.status == RUNNING)
        .values(status=PENDING, due_at=now, lease_owner=None, attempts=ax.c.attempts - 1)
    )
    return result.rowcount == 1


async def mark_failed(
    conn: AsyncConnection, export_id: str, owner: str, *, now: float, error: str
) -> bool:
    result = await conn.execute(
        ax.update()
        .where(ax.c.id == export_id, ax.c.lease_owner == owner, ax.c.status == RUNNING)
        .values(status=FAILED, due_at=None, lease_owner=None, error=error, finished_at=now)
    )
    return result.rowcount == 1


async def expired(conn: AsyncConnection, *, now: float, limit: int) -> list[RowMapping]:
    query = (
        sa.select(ax.c.id, ax.c.file_path)
        .where(ax.c.expires_at <= now)
        .order_by(ax.c.expires_at)
        .limit(limit)
    )
    return list((await conn.execute(query)).mappings())


async def delete(conn: AsyncConnection, ids: Sequence[str], *, now: float) -> int:
    """Delete these exports if still expired (a retry may have pushed `expires_at` on)."""
    if not ids:
        return 0
    result = await conn.execute(ax.delete().where(ax.c.id.in_(ids), ax.c.expires_at <= now))
    return result.rowcount
