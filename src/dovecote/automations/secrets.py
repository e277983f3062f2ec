"""Each account's webhook signing secret (`whsec_…`): shown to its owner, rotated on request.

After a rotation the previous secret keeps signing beside the new one for `OVERLAP`
seconds, so a receiver can switch secrets without rejecting a single delivery.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from dovecote.pipeline.webhook_signing import new_secret
from dovecote.storage.tables import webhook_secrets as table

OVERLAP = 24 * 3600.0


@dataclass(frozen=True, slots=True)
class Secret:
    secret: str
    previous_secret: str | None
    previous_until: float | None

    def in_use(self, now: float) -> list[str]:
        """The secrets each delivery is signed with now (the newest first)."""
        if self.previous_secret and self.previous_until and now < self.previous_until:
            return [self.secret, self.previous_secret]
        return [self.secret]


def _secret(row: sa.RowMapping) -> Secret:
    return Secret(row["secret"], row["previous_secret"], row["previous_until"])


async def ensure(conn: AsyncConnection, account_id: int, now: float) -> Secret:
    """The account's secret, created on first use."""
    query = sa.select(table).where(table.c.account_id == account_id)
    row = (await conn.execute(query)).mappings().one_or_none()
    if row is not None:
        return _secret(row)
    created = new_secret()
    try:
        async with conn.begin_nested():
            await conn.execute(
                table.insert().values(account_id=account_id, secret=created, created_at=now)
            )
    except IntegrityError:  # created concurrently: use that one
        row = (await conn.execute(query)).mappings().one()
        return _secret(row)
    return Secret(created, None, None)


async def rotate(conn: AsyncConnection, account_id: int, now: float) -> Secret:
    current = await ensure(conn, account_id, now)
    rotated = Secret(new_secret(), current.secret, now + OVERLAP)
    await conn.execute(
        table.update()
        .where(table.c.account_id == account_id)
        .values(
            secret=rotated.secret,
            previous_secret=rotated.previous_secret,
            previous_until=rotated.previous_until,
            created_at=now,
        )
    )
    return rotated


async def in_use(
    conn: AsyncConnection, account_ids: Sequence[int], now: float
) -> dict[int, list[str]]:
    """The signing secrets of each account (creating those that have none yet)."""
    query = sa.select(table).where(table.c.account_id.in_(account_ids))
    found = {int(r["account_id"]): _secret(r) for r in (await conn.execute(query)).mappings()}
    for account_id in account_ids:
        if account_id not in found:
            found[account_id] = await ensure(conn, account_id, now)
    return {account_id: secret.in_use(now) for account_id, secret in found.items()}
