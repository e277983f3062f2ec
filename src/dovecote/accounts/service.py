"""Accounts, users (ClickSend subaccounts), API keys and authentication."""

from __future__ import annotations

import functools
import hmac
import time
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import pycountry
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from dovecote.accounts import store
from dovecote.accounts.credential_cache import CachedCredential
from dovecote.core import security
from dovecote.core.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthorized
from dovecote.core.models import Account, Principal, User
from dovecote.storage.listing import ListQuery, Page
from dovecote.storage.tables import ACCESS_FLAGS

# The spec's Testing section: three usernames sharing one documented key.
TEST_API_KEY = "D83DED51-9E35-4D42-9BB9-0E34B7CA85AE"
TEST_ACCOUNTS = {
    "nocredit": {"balance_micros": 0, "active": True, "banned": False},
    "notactive": {"balance_micros": 10_000_000, "active": False, "banned": False},
    "banned": {"balance_micros": 10_000_000, "active": True, "banned": True},
}
SUPPORTED_CURRENCIES = ("USD", "AUD", "EUR", "GBP", "NZD", "CAD")
NO_PASSWORD = "!"  # noqa: S105 - stored instead of a hash: such users log in by API key only


@dataclass(frozen=True, slots=True)
class NewUser:
    """A created user with the only copies of its secrets that will ever be shown."""

    user: User
    account: Account
    api_key: str
    password: str | None


def now() -> int:
    return int(time.time())


def parse_money(value: str | Decimal | int | float, field: str = "balance") -> int:
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise InvalidInput(f"{field} must be a decimal amount", field=field) from None
    if not amount.is_finite() or amount < 0:
        raise InvalidInput(f"{field} must be a non-negative amount", field=field)
    return int((amount * 1_000_000).to_integral_value())


def normalize_country(value: str, field: str = "country") -> str:
    code = value.strip().upper()
    if pycountry.countries.get(alpha_2=code) is None:
        raise InvalidInput(f"{field} must be an ISO 3166-1 alpha-2 country code", field=field)
    return code


async def create_account(
    conn: AsyncConnection,
    *,
    username: str,
    password: str | None = None,
    api_key: str | None = None,
    email: str = "",
    phone: str = "",
    first_name: str = "",
    last_name: str = "",
    account_name: str = "",
    country: str = "US",
    currency: str = "USD",
    balance_micros: int = 0,
    active: bool = True,
    banned: bool = False,
    login_password: bool = True,
    currencies: Sequence[str] = SUPPORTED_CURRENCIES,
) -> NewUser:
    """Create an account with its main user and first API key.

    `login_password=False` gives the user no password at all (API key only).
    `currencies`: those the account may keep its balance in — the price book's, when
    the caller has it (an operator's file may add currencies, by rate or by prices).
    """
    if currency not in currencies:
        raise InvalidInput(f"currency must be one of {', '.join(currencies)}")
    created = now()
    account = await store.insert_account(
        conn,
        {
            "name": account_name,
            "billing_email": email,
            "billing_mobile": phone,
            "balance_micros": balance_micros,
            "currency": currency,
            "country": normalize_country(country),
            "active": active,
            "banned": banned,
            "settings": {},
            "created_at": created,
        },
    )
    return await _create_user(
        conn,
        account,
        {
            "username": username,
            "email": email,
            "phone_number": phone,
            "first_name": first_name,
            "last_name": last_name,
            "is_main": True,
        },
        password=password,
        api_key=api_key,
        login_password=login_password,
    )


def validate_username(value: str, field: str) -> str:
    """A username as stored: trimmed, 1 to 100 printable ASCII characters, and no `:`.

    Basic authorization splits `username:secret` at the first colon, so a name holding
    one could never log in. ASCII because names match case-insensitively, and SQLite's
    lower() folds ASCII letters only: "Ëve" would be stored and never found again there
    (and look-alike letters could pass for another user's name anywhere).
    """
    username = value.strip()
    if not username or len(username) > 100:
        raise InvalidInput(f"{field} must be 1 to 100 characters", field=field)
    if ":" in username:
        raise InvalidInput(f"{field} must not contain ':'", field=field)
    if not all(" " <= char <= "~" for char in username):
        raise InvalidInput(f"{field} must be printable ASCII characters", field=field)
    return username


def _taken(username: str, field: str) -> Conflict:
    return Conflict(f"The username '{username}' is already taken.", field=field)


async def _create_user(
    conn: AsyncConnection,
    account: Account,
    values: dict[str, Any],
    *,
    password: str | None,
    api_key: str | None = None,
    login_password: bool = True,
) -> NewUser:
    username = validate_username(str(values["username"]), "api_username")
    if await store.get_user_by_username(conn, username) is not None:
        raise _taken(username, "api_username")
    shown_password = password or security.new_password()
    # "!" is no argon2 hash, so it matches no password, and skips ~0.1 s of hashing.
    password_hash = security.hash_password(shown_password) if login_password else NO_PASSWORD
    created = now()
    try:
        user = await store.insert_user(
            conn,
            {
                **values,
                "username": username,
                "account_id": account.id,
                "password_hash": password_hash,
                "created_at": created,
            },
        )
    except IntegrityError:
        # A concurrent create took the name (in any case: the unique index is on
        # lower(username)) between the check above and this insert.
        raise _taken(username, "api_username") from None
    key = api_key or security.new_api_key()
    await store.replace_api_key(conn, user.id, security.hash_api_key(key), created)
    return NewUser(user, account, key, None if password or not login_password else shown_password)


async def ensure_owner(conn: AsyncConnection, settings: Any) -> NewUser | None:
    """On an empty database, create the owner account (preset by env or generated)."""
    if await store.count_users(conn, excluding=tuple(TEST_ACCOUNTS)) > 0:
        return None
    return await create_account(
        conn,
        username=settings.owner_username or "owner",
        password=settings.owner_password,
        api_key=settings.owner_api_key,
        account_name="Dovecote owner",
        country=settings.owner_country,
        currency=settings.owner_currency,
        balance_micros=parse_money(settings.owner_balance, "DOVECOTE_OWNER_BALANCE"),
    )


async def ensure_test_accounts(conn: AsyncConnection) -> None:
    for username, flags in TEST_ACCOUNTS.items():
        if await store.get_user_by_username(conn, username) is None:
            await create_account(
                conn,
                username=username,
                api_key=TEST_API_KEY,
                account_name=f"Test account ({username})",
                email=f"{username}@test.com",
                # They log in with the documented key; a password nobody is shown is useless.
                login_password=False,
                **flags,  # type: ignore[arg-type]
            )


async def remove_test_accounts(conn: AsyncConnection) -> None:
    for username in TEST_ACCOUNTS:
        user = await store.get_user_by_username(conn, username)
        if user is not None:
            await store.delete_user(conn, user.id)


# --- authentication -------------------------------------------------------------

_DUMMY_HASH = security.hash_api_key("not-a-key")


@functools.cache
def _dummy_password_hash() -> str:
    # Made on first use, not at import: argon2 costs ~50 ms by design.
    return security.hash_password("not-a-password")


async def authenticate_basic(conn: AsyncConnection, username: str, secret: str) -> Principal:
    """`username:api_key` or `username:password`; the key is tried first (fast)."""
    user = await store.get_user_by_username(conn, username)
    candidate = security.hash_api_key(secret)
    if user is None:
        hmac.compare_digest(candidate, _DUMMY_HASH)  # same work as a real miss
        raise Unauthorized("Invalid credentials.")
    for key_id, key_hash in await store.key_hashes_for_user(conn, user.id):
        if hmac.compare_digest(candidate, key_hash):
            return await _principal(conn, user, key_id)
    if security.verify_password(user.password_hash, secret):
        return await _principal(conn, user, None)
    raise Unauthorized("Invalid credentials.")


async def authenticate_password(conn: AsyncConnection, username: str, password: str) -> Principal:
    """A username and its password only (the dashboard's sign-in; not an API key)."""
    user = await store.get_user_by_username(conn, username)
    if user is None:
        security.verify_password(_dummy_password_hash(), password)  # same work as a real miss
        raise Unauthorized("Invalid credentials.")
    if not security.verify_password(user.password_hash, password):
        raise Unauthorized("Invalid credentials.")
    return await _principal(conn, user, None)


def credential_to_cache(
    principal: Principal, secret: str, username: str | None
) -> CachedCredential:
    """What the credential cache keeps of a verified caller: `secret` is the key or
    password it sent, `username` the Basic username (None for Bearer)."""
    return CachedCredential(
        user_id=principal.user.id,
        account_id=principal.account.id,
        api_key_id=principal.api_key_id,
        key_hash=security.hash_api_key(secret) if principal.api_key_id is not None else None,
        password_hash=principal.user.password_hash,
        username=username,
    )


async def principal_from_cache(conn: AsyncConnection, cached: CachedCredential) -> Principal | None:
    """Reload a cached caller; None when the key is gone, the password changed, or the
    ids now name someone else (a row created since with a reused id)."""
    api_key = None
    if cached.api_key_id is not None:
        if cached.key_hash is None:
            return None
        api_key = (cached.api_key_id, cached.key_hash)
    found = await store.user_and_account(conn, cached.user_id, api_key)
    if found is None:
        return None
    user, account = found
    if user.account_id != cached.account_id or account.id != cached.account_id:
        return None
    if cached.api_key_id is None and user.password_hash != cached.password_hash:
        return None
    if cached.username is not None and cached.username.lower() != user.username.lower():
        return None
    return _check_account(Principal(user=user, account=account, api_key_id=cached.api_key_id))


async def authenticate_bearer(conn: AsyncConnection, api_key: str) -> Principal:
    found = await store.user_and_account_by_key_hash(conn, security.hash_api_key(api_key))
    if found is None:
        raise Unauthorized("Invalid credentials.")
    user, account, key_id = found
    return _check_account(Principal(user=user, account=account, api_key_id=key_id))


async def _principal(conn: AsyncConnection, user: User, key_id: int | None) -> Principal:
    account = await store.get_account(conn, user.account_id)
    assert account is not None  # foreign key
    return _check_account(Principal(user=user, account=account, api_key_id=key_id))


def _check_account(principal: Principal) -> Principal:
    if principal.account.banned:
        raise Forbidden("This account has been banned.", code="ACCOUNT_BANNED")
    return principal


def require(principal: Principal, flag: str) -> None:
    if not principal.can(flag):
        raise Forbidden(f"This user does not have the '{flag}' permission.")


def require_active(principal: Principal) -> None:
    if not principal.account.active:
        raise Forbidden("Account not activated.", code="ACCOUNT_NOT_ACTIVATED")


# --- account -----------------------------------------------------------------------


async def reload(conn: AsyncConnection, principal: Principal) -> Principal:
    user = await store.get_user(conn, principal.user.id)
    account = await store.get_account(conn, principal.account.id)
    if user is None or account is None:
        raise NotFound("Account not found.")
    return Principal(user=user, account=account, api_key_id=principal.api_key_id)


async def update_account(
    conn: AsyncConnection, principal: Principal, changes: dict[str, Any]
) -> Principal:
    """Apply the fields of `PUT /account` that are present; account fields need access_settings."""
    account_values: dict[str, Any] = {}
    user_values: dict[str, Any] = {}
    for name in ("account_name", "country", "timezone"):
        if changes.get(name) is not None:
            require(principal, "access_settings")
    if changes.get("account_name") is not None:
        account_values["name"] = changes["account_name"]
    if changes.get("country") is not None:
        account_values["country"] = normalize_country(changes["country"])
    if changes.get("timezone") is not None:
        account_values["timezone"] = validate_timezone(changes["timezone"])
    for flag in (
        "private_uploads",
        "setting_sms_hide_business_name",
        "setting_sms_hide_your_number",
    ):
        if changes.get(flag) is not None:
            require(principal, "access_settings")
            account_values.setdefault("settings", dict(principal.account.settings))[flag] = int(
                changes[flag]
            )
    mapping = {
        "user_email": "email",
        "user_phone": "phone_number",
        "user_first_name": "first_name",
        "user_last_name": "last_name",
    }
    for wire, column in mapping.items():
        if changes.get(wire) is not None:
            user_values[column] = changes[wire]
    if changes.get("username") is not None:
        username = validate_username(changes["username"], "username")
        if username != principal.user.username:
            other = await store.get_user_by_username(conn, username)
            if other is not None and other.id != principal.user.id:  # a change of case is fine
                raise _taken(username, "username")
            user_values["username"] = username
    if changes.get("password"):
        user_values["password_hash"] = security.hash_password(changes["password"])
    if account_values:
        await store.update_account(conn, principal.account.id, account_values)
    if user_values:
        try:
            await store.update_user(conn, principal.user.id, user_values)
        except IntegrityError:  # a concurrent create or rename took the name
            raise _taken(user_values.get("username", ""), "username") from None
    return await reload(conn, principal)


def validate_timezone(name: str) -> str:
    import zoneinfo

    if name not in zoneinfo.available_timezones():
        raise InvalidInput("timezone must be an IANA time zone name", field="timezone")
    return name


# --- subaccounts ---------------------------------------------------------------------

# The users table's widths (notes and password have none: bounded as the API bounds them).
# The API's request models stop longer values first; the dashboard's forms reach here.
USER_FIELD_LIMITS = {
    "email": 320,
    "phone_number": 32,
    "first_name": 100,
    "last_name": 100,
    "notes": 2000,
    "password": 200,
}


def check_user_fields(values: dict[str, Any]) -> None:
    """A longer value would be a 500 on PostgreSQL (`varchar(n)`), truncated on neither."""
    for name, limit in USER_FIELD_LIMITS.items():
        value = values.get(name)
        if isinstance(value, str) and len(value) > limit:
            raise InvalidInput(f"{name} must be at most {limit} characters.", field=name)


async def create_subaccount(
    conn: AsyncConnection, principal: Principal, values: dict[str, Any], password: str | None
) -> NewUser:
    require(principal, "access_users")
    check_user_fields({**values, "password": password})
    requested = {flag: bool(values[flag]) for flag in ACCESS_FLAGS if values.get(flag) is not None}
    _require_grantable(principal, requested)
    # ClickSend's default is every permission; nobody hands out more than it holds.
    flags = {flag: requested.get(flag, principal.can(flag)) for flag in ACCESS_FLAGS}
    fields = {
        "username": values["api_username"],
        "email": values.get("email") or "",
        "phone_number": values.get("phone_number") or "",
        "first_name": values.get("first_name") or "",
        "last_name": values.get("last_name") or "",
        "notes": values.get("notes"),
        "is_main": False,
        **flags,
    }
    return await _create_user(conn, principal.account, fields, password=password)


async def get_subaccount(conn: AsyncConnection, principal: Principal, user_id: int) -> User:
    """A user of the caller's account; another account's id is indistinguishable from none."""
    if user_id != principal.user.id:
        require(principal, "access_users")
    user = await store.get_user(conn, user_id)
    if user is None or user.account_id != principal.account.id:
        raise NotFound(f"Subaccount #{user_id} not found.")
    return user


async def update_subaccount(
    conn: AsyncConnection, principal: Principal, user_id: int, values: dict[str, Any]
) -> User:
    require(principal, "access_users")
    check_user_fields(values)
    user = await get_subaccount(conn, principal, user_id)
    _require_main_for_main(principal, user)
    changes: dict[str, Any] = {
        flag: bool(values[flag]) for flag in ACCESS_FLAGS if values.get(flag) is not None
    }
    for column in ("email", "phone_number", "first_name", "last_name", "notes"):
        if values.get(column) is not None:
            changes[column] = values[column]
    if user.is_main and any(flag in changes for flag in ACCESS_FLAGS):
        raise InvalidInput("The main user's permissions cannot be changed.")
    flag_changes = {
        flag: value
        for flag, value in changes.items()
        if flag in ACCESS_FLAGS and value != user.access.get(flag, False)
    }
    if flag_changes and user.id == principal.user.id:
        raise Forbidden("A user cannot change its own permissions.")
    _require_grantable(principal, flag_changes)
    if values.get("password"):
        _require_no_more_access(principal, user)
        changes["password_hash"] = security.hash_password(values["password"])
    if changes:
        await store.update_user(conn, user.id, changes)
    updated = await store.get_user(conn, user.id)
    assert updated is not None
    return updated


async def delete_subaccount(conn: AsyncConnection, principal: Principal, user_id: int) -> None:
    require(principal, "access_users")
    user = await get_subaccount(conn, principal, user_id)
    if user.is_main:
        raise InvalidInput("The main user of an account cannot be deleted.")
    await store.delete_user(conn, user.id)


async def regenerate_key(conn: AsyncConnection, principal: Principal, user_id: int) -> NewUser:
    user = await get_subaccount(conn, principal, user_id)
    _require_main_for_main(principal, user)
    _require_no_more_access(principal, user)
    return NewUser(user, principal.account, await rotate_key(conn, user.id), None)


def _require_grantable(principal: Principal, flags: dict[str, bool]) -> None:
    """Nobody grants a permission it does not hold itself (the main user holds them all)."""
    for flag, granted in flags.items():
        if granted and not principal.can(flag):
            raise Forbidden(f"You cannot grant the '{flag}' permission: you do not have it.")


def _require_no_more_access(principal: Principal, user: User) -> None:
    # Setting another user's password or taking its new key is logging in as that user:
    # a user holding a permission the caller lacks would hand the caller that permission.
    if user.id == principal.user.id:
        return
    for flag in ACCESS_FLAGS:
        if user.access.get(flag, False) and not principal.can(flag):
            raise Forbidden(
                f"Subaccount #{user.id} has the '{flag}' permission, which you do not have."
            )


def _require_main_for_main(principal: Principal, user: User) -> None:
    # Otherwise a subaccount with access_users could set the main user's password or
    # take its key, and so gain every permission it was not given.
    if user.is_main and not principal.user.is_main:
        raise Forbidden("Only the main user can change the main user.")


async def rotate_key(conn: AsyncConnection, user_id: int) -> str:
    key = security.new_api_key()
    await store.replace_api_key(conn, user_id, security.hash_api_key(key), now())
    return key


async def list_subaccounts(
    conn: AsyncConnection, principal: Principal, params: ListQuery
) -> tuple[Page, list[User]]:
    require(principal, "access_users")
    page = await store.list_users(conn, principal.account.id, params)
    return page, [store.user_from_row(row) for row in page.rows]
