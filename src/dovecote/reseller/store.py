"""Queries of the reseller program: `resellers` (settings) and `reseller_clients` (links)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from dovecote.accounts.store import account_from_row, user_from_row
from dovecote.core.errors import Conflict
from dovecote.core.models import Account, User
from dovecote.storage.listing import Fields, ListQuery, Page, paginate
from dovecote.storage.tables import accounts, reseller_clients, resellers, users


async def get_program(conn: AsyncConnection, account_id: int) -> Mapping[Any, Any] | None:
    query = sa.select(resellers).where(resellers.c.account_id == account_id)
    return (await conn.execute(query)).mappings().one_or_none()


async def program_by_subdomain(conn: AsyncConnection, subdomain: str) -> Mapping[Any, Any] | None:
    query = sa.select(resellers).where(resellers.c.subdomain == subdomain)
    return (await conn.execute(query)).mappings().one_or_none()


async def save_program(conn: AsyncConnection, account_id: int, values: dict[str, Any]) -> None:
    """Insert or overwrite the reseller's settings (an upsert: two first saves at once
    must not fail on the primary key)."""
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    proposed = insert(resellers).values(account_id=account_id, **values)
    statement = proposed.on_conflict_do_update(
        index_elements=[resellers.c.account_id],
        set_={name: proposed.excluded[name] for name in values},
    )
    try:
        async with conn.begin_nested():
            await conn.execute(statement)
    except IntegrityError:
        # The only other unique column: someone else's subdomain.
        raise Conflict(
            f"The subdomain '{values.get('subdomain')}' is already taken.", field="subdomain"
        ) from None


async def add_client(
    conn: AsyncConnection,
    client_account_id: int,
    reseller_account_id: int,
    *,
    public: bool,
    now: int,
) -> None:
    await conn.execute(
        reseller_clients.insert().values(
            client_account_id=client_account_id,
            reseller_account_id=reseller_account_id,
            public_signup=public,
            created_at=now,
        )
    )


async def reseller_of(conn: AsyncConnection, account_id: int) -> int | None:
    """The account's reseller, when it is a client."""
    query = sa.select(reseller_clients.c.reseller_account_id).where(
        reseller_clients.c.client_account_id == account_id
    )
    found = (await conn.execute(query)).scalar_one_or_none()
    return None if found is None else int(found)


async def client_account_ids(conn: AsyncConnection, reseller_account_id: int) -> Sequence[int]:
    query = sa.select(reseller_clients.c.client_account_id).where(
        reseller_clients.c.reseller_account_id == reseller_account_id
    )
    return [int(value) for value in (await conn.execute(query)).scalars()]


def _clients(reseller_account_id: int) -> sa.Select[Any]:
    """The main user of each of the reseller's clients, with its account, labelled
    `users_*` / `accounts_*` / `reseller_clients_*`."""
    return (
        sa.select(users, accounts, reseller_clients)
        .join(accounts, accounts.c.id == users.c.account_id)
        .join(reseller_clients, reseller_clients.c.client_account_id == accounts.c.id)
        .where(
            reseller_clients.c.reseller_account_id == reseller_account_id,
            users.c.is_main.is_(True),
        )
        .set_label_style(sa.LABEL_STYLE_TABLENAME_PLUS_COL)
    )


def split(row: Mapping[Any, Any]) -> tuple[User, Account]:
    def part(prefix: str) -> dict[str, Any]:
        return {key[len(prefix) :]: value for key, value in row.items() if key.startswith(prefix)}

    return user_from_row(part("users_")), account_from_row(part("accounts_"))


CLIENT_FIELDS = Fields(
    columns={
        "user_id": users.c.id,
        "username": users.c.username,
        "user_email": users.c.email,
        "account_name": accounts.c.name,
        "country": accounts.c.country,
        "active": accounts.c.active,
    },
    text=frozenset({"username", "user_email", "account_name"}),
)


async def list_clients(conn: AsyncConnection, reseller_account_id: int, params: ListQuery) -> Page:
    return await paginate(conn, _clients(reseller_account_id), params, CLIENT_FIELDS, [users.c.id])


async def get_client(
    conn: AsyncConnection, reseller_account_id: int, user_id: int
) -> tuple[User, Account] | None:
    """The client whose main user is `user_id`, when it is this reseller's."""
    query = _clients(reseller_account_id).where(users.c.id == user_id)
    row = (await conn.execute(query)).mappings().one_or_none()
    return None if row is None else split(row)


REFERRAL_FIELDS = Fields(columns={"refered_user_id": users.c.id})


async def list_referrals(
    conn: AsyncConnection, reseller_account_id: int, params: ListQuery
) -> Page:
    query = _clients(reseller_account_id).where(reseller_clients.c.public_signup.is_(True))
    return await paginate(conn, query, params, REFERRAL_FIELDS, [users.c.id])


async def main_user_id(conn: AsyncConnection, account_id: int) -> int | None:
    query = sa.select(users.c.id).where(users.c.account_id == account_id, users.c.is_main.is_(True))
    found = (await conn.execute(query.order_by(users.c.id).limit(1))).scalar_one_or_none()
    return None if found is None else int(found)
