"""Storage of the account lifecycle: hashed single-use tokens, chosen countries, look-ups."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from dovecote.accounts.store import user_from_row
from dovecote.core.models import User
from dovecote.storage.tables import account_countries, account_tokens, users


async def replace_token(
    conn: AsyncConnection, user_id: int, purpose: str, token_hash: str, now: int, ttl: int
) -> None:
    """Store a new token for (user, purpose); the unused ones before it stop working, so
    only the latest email carries a live token."""
    await conn.execute(
        account_tokens.delete().where(
            account_tokens.c.user_id == user_id,
            account_tokens.c.purpose == purpose,
            account_tokens.c.used_at.is_(None),
        )
    )
    await conn.execute(
        account_tokens.insert().values(
            user_id=user_id,
            purpose=purpose,
            token_hash=token_hash,
            created_at=now,
            expires_at=now + ttl,
        )
    )


async def use_token(
    conn: AsyncConnection, purpose: str, token_hash: str, now: int, user_id: int | None
) -> int | None:
    """Mark the token used if it is live, in one conditional UPDATE: of two concurrent
    uses only one gets the user id back. None: unknown, used, expired or another user's."""
    conditions = [
        account_tokens.c.token_hash == token_hash,
        account_tokens.c.purpose == purpose,
        account_tokens.c.used_at.is_(None),
        account_tokens.c.expires_at > now,
    ]
    if user_id is not None:
        conditions.append(account_tokens.c.user_id == user_id)
    result = await conn.execute(
        account_tokens.update()
        .where(*conditions)
        .values(used_at=now)
        .returning(account_tokens.c.user_id)
    )
    found = result.scalar_one_or_none()
    return None if found is None else int(found)


async def users_by_contact(
    conn: AsyncConnection, *, email: str | None, phone: str | None
) -> Sequence[User]:
    query = sa.select(users)
    if email is not None:
        query = query.where(sa.func.lower(users.c.email) == email.lower())
    elif phone is not None:
        query = query.where(users.c.phone_number == phone)
    else:
        return []
    rows = (await conn.execute(query.order_by(users.c.id).limit(100))).mappings()
    return [user_from_row(row) for row in rows]


async def chosen_countries(conn: AsyncConnection, account_id: int) -> Sequence[dict[str, Any]]:
    query = (
        sa.select(account_countries.c.country_id, account_countries.c.agreed_at)
        .where(account_countries.c.account_id == account_id)
        .order_by(account_countries.c.country_id)
    )
    return [dict(row) for row in (await conn.execute(query)).mappings()]


async def choose_countries(
    conn: AsyncConnection, account_id: int, country_ids: Collection[int], now: int
) -> None:
    """Make the chosen set exactly `country_ids`; kept countries keep their agreement."""
    await conn.execute(
        account_countries.delete().where(
            account_countries.c.account_id == account_id,
            account_countries.c.country_id.not_in(country_ids),
        )
    )
    present = {row["country_id"] for row in await chosen_countries(conn, account_id)}
    rows = [
        {"account_id": account_id, "country_id": c, "agreed_at": None, "created_at": now}
        for c in sorted(set(country_ids) - present)
    ]
    if rows:
        await conn.execute(account_countries.insert(), rows)


async def agree_countries(conn: AsyncConnection, account_id: int, now: int) -> None:
    await conn.execute(
        account_countries.update()
        .where(
            account_countries.c.account_id == account_id, account_countries.c.agreed_at.is_(None)
        )
        .values(agreed_at=now)
    )
