"""Queries for accounts, users (subaccounts) and API keys."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from dovecote.core.models import Account, User
from dovecote.storage.listing import Fields, ListQuery, Page, paginate
from dovecote.storage.tables import ACCESS_FLAGS, accounts, api_keys, ledger_entries, users


def account_from_row(row: Mapping[Any, Any]) -> Account:
    return Account(
        id=row["id"],
        name=row["name"],
        billing_email=row["billing_email"],
        billing_mobile=row["billing_mobile"],
        balance_micros=row["balance_micros"],
        currency=row["currency"],
        country=row["country"],
        timezone=row["timezone"],
        active=row["active"],
        banned=row["banned"],
        sms_max_parts=row["sms_max_parts"],
        unicode_sms=row["unicode_sms"],
        settings=dict(row["settings"] or {}),
        created_at=row["created_at"],
    )


def user_from_row(row: Mapping[Any, Any]) -> User:
    return User(
        id=row["id"],
        account_id=row["account_id"],
        username=row["username"],
        password_hash=row["password_hash"],
        email=row["email"],
        phone_number=row["phone_number"],
        first_name=row["first_name"],
        last_name=row["last_name"],
        is_main=row["is_main"],
        access={flag: bool(row[flag]) for flag in ACCESS_FLAGS},
        hide_pricing=row["hide_pricing"],
        share_campaigns=row["share_campaigns"],
        notes=row["notes"],
        created_at=row["created_at"],
    )


async def insert_account(conn: AsyncConnection, values: dict[str, Any]) -> Account:
    """Insert an account; a starting balance gets its `opening` ledger entry in the same
    transaction (written here, not through `billing.ledger`, which sits above accounts)."""
    row = (await conn.execute(accounts.insert().values(**values).returning(accounts))).mappings()
    account = account_from_row(row.one())
    if account.balance_micros:
        await conn.execute(
            ledger_entries.insert().values(
                account_id=account.id,
                amount_micros=account.balance_micros,
                balance_after_micros=account.balance_micros,
                currency=account.currency,
                kind="opening",
                reference="opening balance",
                created_at=account.created_at,
            )
        )
    return account


async def update_account(conn: AsyncConnection, account_id: int, values: dict[str, Any]) -> None:
    await conn.execute(accounts.update().where(accounts.c.id == account_id).values(**values))


async def get_account(conn: AsyncConnection, account_id: int) -> Account | None:
    row = (
        (await conn.execute(sa.select(accounts).where(accounts.c.id == account_id)))
        .mappings()
        .one_or_none()
    )
    return account_from_row(row) if row else None


async def insert_user(conn: AsyncConnection, values: dict[str, Any]) -> User:
    row = (await conn.execute(users.insert().values(**values).returning(users))).mappings()
    return user_from_row(row.one())


async def update_user(conn: AsyncConnection, user_id: int, values: dict[str, Any]) -> None:
    await conn.execute(users.update().where(users.c.id == user_id).values(**values))


async def delete_user(conn: AsyncConnection, user_id: int) -> None:
    await conn.execute(users.delete().where(users.c.id == user_id))


async def get_user(conn: AsyncConnection, user_id: int) -> User | None:
    row = (
        (await conn.execute(sa.select(users).where(users.c.id == user_id))).mappings().one_or_none()
    )
    return user_from_row(row) if row else None


async def get_user_by_username(conn: AsyncConnection, username: str) -> User | None:
    # Usernames are case-insensitive for login, as ClickSend's are.
    query = sa.select(users).where(sa.func.lower(users.c.username) == username.lower())
    row = (await conn.execute(query)).mappings().one_or_none()
    return user_from_row(row) if row else None


async def count_users(conn: AsyncConnection, excluding: Sequence[str] = ()) -> int:
    query = sa.select(sa.func.count()).select_from(users)
    if excluding:
        query = query.where(users.c.username.not_in(excluding))
    return int((await conn.execute(query)).scalar_one())


async def user_and_account_by_key_hash(
    conn: AsyncConnection, key_hash: str
) -> tuple[User, Account, int] | None:
    query = (
        _with_accounts()
        .add_columns(api_keys.c.id.label("api_key_id"))
        .join(api_keys, api_keys.c.user_id == users.c.id)
        .where(api_keys.c.key_hash == key_hash)
        .limit(2)
    )
    rows = (await conn.execute(query)).all()
    # A key shared by several users (the spec's test accounts) names nobody on its own.
    if len(rows) != 1:
        return None
    user, account = _split(rows[0])
    return user, account, int(rows[0].api_key_id)


async def key_ids_for_user(conn: AsyncConnection, user_id: int) -> Sequence[int]:
    query = sa.select(api_keys.c.id).where(api_keys.c.user_id == user_id)
    return list((await conn.execute(query)).scalars())


async def key_hashes_for_user(conn: AsyncConnection, user_id: int) -> Sequence[tuple[int, str]]:
    query = sa.select(api_keys.c.id, api_keys.c.key_hash).where(api_keys.c.user_id == user_id)
    return [(int(r[0]), str(r[1])) for r in await conn.execute(query)]


async def replace_api_key(conn: AsyncConnection, user_id: int, key_hash: str, now: int) -> int:
    """One live key per user, as in ClickSend: regenerating revokes the old one."""
    # Insert before deleting: SQLite gives a new row max(id) + 1, so deleting first would
    # hand the revoked key's id to its successor, and the credential cache, which trusts
    # a cached key while its id exists, would keep accepting the revoked key.
    result = await conn.execute(
        api_keys.insert()
        .values(user_id=user_id, key_hash=key_hash, created_at=now)
        .returning(api_keys.c.id)
    )
    key_id = int(result.scalar_one())
    await conn.execute(
        api_keys.delete().where(api_keys.c.user_id == user_id, api_keys.c.id != key_id)
    )
    return key_id


def users_of_account(account_id: int) -> sa.Select[Any]:
    return sa.select(users).where(users.c.account_id == account_id)


async def list_all_users(conn: AsyncConnection) -> Sequence[tuple[User, Account]]:
    query = _with_accounts().order_by(users.c.id)
    return [_split(row) for row in (await conn.execute(query)).all()]


USER_FIELDS = Fields(
    columns={
        "subaccount_id": users.c.id,
        "api_username": users.c.username,
        "email": users.c.email,
        "phone_number": users.c.phone_number,
        "first_name": users.c.first_name,
        "last_name": users.c.last_name,
        "notes": users.c.notes,
        **{flag: users.c[flag] for flag in ACCESS_FLAGS},
    },
    text=frozenset({"api_username", "email", "phone_number", "first_name", "last_name", "notes"}),
)


async def list_users(conn: AsyncConnection, account_id: int, params: ListQuery) -> Page:
    return await paginate(conn, users_of_account(account_id), params, USER_FIELDS, [users.c.id])


def _with_accounts() -> sa.Select[Any]:
    """Users joined to their accounts, columns labelled `users_*` / `accounts_*`."""
    return (
        sa.select(users, accounts)
        .join(accounts, accounts.c.id == users.c.account_id)
        .set_label_style(sa.LABEL_STYLE_TABLENAME_PLUS_COL)
    )


_USER_COLUMNS = tuple(users.c.keys())
_ACCOUNT_COLUMNS = tuple(accounts.c.keys())


def _split(row: Sequence[Any]) -> tuple[User, Account]:
    """A `_with_accounts` row as a tuple — the users' columns, then the accounts': every
    authenticated request maps one, and matching ~50 labelled keys by prefix was half the
    cost of its query."""
    n, m = len(_USER_COLUMNS), len(_ACCOUNT_COLUMNS)
    user = dict(zip(_USER_COLUMNS, row[:n], strict=True))
    account = dict(zip(_ACCOUNT_COLUMNS, row[n : n + m], strict=True))
    return user_from_row(user), account_from_row(account)


# Built once: every authenticated request runs one of these, and building a statement
# (and its cache key) per call cost more CPU than SQLite spends running it.
_BY_USER = _with_accounts().where(users.c.id == sa.bindparam("user_id"))
_BY_USER_AND_KEY = _BY_USER.join(api_keys, api_keys.c.user_id == users.c.id).where(
    api_keys.c.id == sa.bindparam("key_id"), api_keys.c.key_hash == sa.bindparam("key_hash")
)


async def user_and_account(
    conn: AsyncConnection, user_id: int, api_key: tuple[int, str] | None
) -> tuple[User, Account] | None:
    """Both rows in one query; with `api_key` (id, hash), only while the user still has
    that very key: an id alone could be a newer key that inherited it."""
    if api_key is None:
        result = await conn.execute(_BY_USER, {"user_id": user_id})
    else:
        key_id, key_hash = api_key
        parameters = {"user_id": user_id, "key_id": key_id, "key_hash": key_hash}
        result = await conn.execute(_BY_USER_AND_KEY, parameters)
    row = result.one_or_none()
    return None if row is None else _split(row)
