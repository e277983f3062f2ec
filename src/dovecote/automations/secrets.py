"""Each account's webhook signing secret (`whsec_…`): shown to its owner, rotated on request.

After a rotation the previous secret keeps signing beside the new one for `OVERLAP`
seconds, so a receiver can switch secrets without rejecting a single delivery.

Both are stored sealed (`core.sealing`, under `DOVECOTE_SECRET_KEY`) and opened when read:
a database dump does not let anyone forge this account's webhooks. Rows written before
sealing are clear, read as such, and sealed at start-up (`reseal`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from dovecote.core.errors import Conflict
from dovecote.core.sealing import Sealer, SealError
from dovecote.pipeline.webhook_signing import new_secret
from dovecote.storage.tables import webhook_secrets as table

OVERLAP = 24 * 3600.0

log = logging.getLogger("dovecote.webhooks")


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


class Unreadable(Conflict):
    """The stored secret opens with no configured key (DOVECOTE_SECRET_KEY changed
    without DOVECOTE_SECRET_KEY_PREVIOUS). Rotating replaces it."""


def _secret(row: sa.RowMapping, seal: Sealer) -> Secret:
    previous = row["previous_secret"]
    try:
        return Secret(
            seal.open(row["secret"]),
            None if previous is None else seal.open(previous),
            row["previous_until"],
        )
    except SealError:
        raise Unreadable(
            "Your webhook secret can no longer be read (the server's secret key changed). "
            "Rotate it (POST /dovecote/webhooks/secret) to get a new one."
        ) from None


async def ensure(conn: AsyncConnection, account_id: int, now: float, seal: Sealer) -> Secret:
    """The account's secret, created on first use."""
    query = sa.select(table).where(table.c.account_id == account_id)
    row = (await conn.execute(query)).mappings().one_or_none()
    if row is not None:
        return _secret(row, seal)
    created = new_secret()
    try:
        async with conn.begin_nested():
            await conn.execute(
                table.insert().values(
                    account_id=account_id, secret=seal.seal(created), created_at=now
                )
            )
    except IntegrityError:  # created concurrently: use that one
        row = (await conn.execute(query)).mappings().one()
        return _secret(row, seal)
    return Secret(created, None, None)


async def rotate(conn: AsyncConnection, account_id: int, now: float, seal: Sealer) -> Secret:
    try:
        current = await ensure(conn, account_id, now, seal)
    except Unreadable:
        # Nothing to overlap with: receivers could not be sent the old one anyway.
        rotated = Secret(new_secret(), None, None)
        log.warning("account %s: unreadable webhook secret replaced", account_id)
    else:
        rotated = Secret(new_secret(), current.secret, now + OVERLAP)
    previous = rotated.previous_secret
    await conn.execute(
        table.update()
        .where(table.c.account_id == account_id)
        .values(
            secret=seal.seal(rotated.secret),
            previous_secret=None if previous is None else seal.seal(previous),
            previous_until=rotated.previous_until,
            created_at=now,
        )
    )
    return rotated


async def in_use(
    conn: AsyncConnection, account_ids: Sequence[int], now: float, seal: Sealer
) -> dict[int, list[str]]:
    """The signing secrets of each account (creating those that have none yet); none for
    an account whose secret is `Unreadable`, whose deliveries then fail until it rotates
    (an error here would stop every account's webhooks)."""
    query = sa.select(table).where(table.c.account_id.in_(account_ids))
    signing: dict[int, list[str]] = {}
    for row in (await conn.execute(query)).mappings().all():
        account_id = int(row["account_id"])
        try:
            signing[account_id] = _secret(row, seal).in_use(now)
        except Unreadable:
            log.error("account %s: webhook secret opens with no configured key", account_id)
            signing[account_id] = []
    for account_id in account_ids:
        if account_id not in signing:
            signing[account_id] = (await ensure(conn, account_id, now, seal)).in_use(now)
    return signing


async def reseal(conn: AsyncConnection, seal: Sealer) -> int:
    """Seal with the current key every secret stored clear or under the previous key;
    returns how many rows changed (run at start-up: one read of the table when done)."""
    changed = 0
    for row in (await conn.execute(sa.select(table))).mappings().all():
        values = {}
        for column in ("secret", "previous_secret"):
            value = row[column]
            if value is not None and not seal.current(value):
                try:
                    values[column] = seal.reseal(value)
                except SealError as exc:
                    # The key changed without DOVECOTE_SECRET_KEY_PREVIOUS: this secret stays
                    # unreadable until that key is configured again; the server still starts.
                    log.warning("webhook secret of account %s: %s", row["account_id"], exc)
        if values:
            await conn.execute(
                table.update().where(table.c.account_id == row["account_id"]).values(**values)
            )
            changed += 1
    return changed
