"""Queries for EmailVerify's one-time codes (`email_verifications`).

Every write that decides an outcome is a conditional UPDATE whose row count (or returned
row) says whether this caller won: attempts are counted and statuses change atomically,
without locks held across the request, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from dovecote.storage.tables import email_verifications as ev

PENDING = "pending"


async def get(conn: AsyncConnection, account_id: int, email: str) -> sa.RowMapping | None:
    query = sa.select(ev).where(ev.c.account_id == account_id, ev.c.email == email)
    row: sa.RowMapping | None = (await conn.execute(query)).mappings().one_or_none()
    return row


async def replace(conn: AsyncConnection, values: dict[str, Any]) -> int:
    """Insert the address's verification, or overwrite the existing one in place.

    An upsert, not "update else insert": two concurrent sends to a new address would
    otherwise both insert and one would fail on the unique (account_id, email).
    """
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    proposed = insert(ev).values(**values)
    changed = {
        name: proposed.excluded[name] for name in values if name not in ("account_id", "email")
    }
    statement = proposed.on_conflict_do_update(
        index_elements=[ev.c.account_id, ev.c.email], set_=changed
    ).returning(ev.c.id)
    return int((await conn.execute(statement)).scalar_one())


async def take_attempt(conn: AsyncConnection, verification_id: int, code_hash: str) -> int | None:
    """Count one check against the code; the new count, or None when no attempt is left.

    `attempts < max_attempts` in the WHERE clause is what makes the limit hold under
    concurrency: the database serialises the row updates, so exactly `max_attempts`
    of any number of parallel checks succeed. Matching `code_hash` keeps a check that
    read the previous code from spending an attempt of a code that replaced it.
    """
    statement = (
        ev.update()
        .where(
            ev.c.id == verification_id,
            ev.c.code_hash == code_hash,
            ev.c.status == PENDING,
            ev.c.attempts < ev.c.max_attempts,
        )
        .values(attempts=ev.c.attempts + 1)
        .returning(ev.c.attempts)
    )
    found = (await conn.execute(statement)).scalar_one_or_none()
    return None if found is None else int(found)


async def settle(
    conn: AsyncConnection, verification_id: int, code_hash: str, status: str, **values: Any
) -> bool:
    """Move a pending code to `status`; False when another request already settled it."""
    statement = (
        ev.update()
        .where(ev.c.id == verification_id, ev.c.code_hash == code_hash, ev.c.status == PENDING)
        .values(status=status, **values)
    )
    return int((await conn.execute(statement)).rowcount) == 1
