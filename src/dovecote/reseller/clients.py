"""A reseller's client accounts: created by the reseller or on its public sign-up page,
read and changed only by it, funded by transfers from its balance.

A client is a separate account (its own balance, users, keys, messages), linked to its
reseller in `reseller_clients`. Everything here looks a client up through that link and
the caller's own account, so an id that is not the caller's client (a sibling's, the
reseller's own, another reseller's) is indistinguishable from one that does not exist.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from dovecote.accounts import letters, tokens
from dovecote.accounts import service as accounts
from dovecote.accounts import store as accounts_store
from dovecote.accounts.letters import AccountMail
from dovecote.accounts.service import NewUser, create_account, normalize_country
from dovecote.accounts.signup import check_email, check_password, check_phone
from dovecote.core.errors import Forbidden, InvalidInput, NotFound
from dovecote.core.models import Account, Principal, User
from dovecote.reseller import program, store
from dovecote.reseller.transfers import transfer
from dovecote.storage.listing import ListQuery, Page


@dataclass(frozen=True, slots=True)
class ClientDetails:
    """The fields of ClickSend's reseller account body (all required to create one)."""

    username: str
    password: str
    email: str
    phone: str
    first_name: str
    last_name: str
    account_name: str
    country: str


async def _create(
    conn: AsyncConnection,
    reseller: Account,
    details: ClientDetails,
    *,
    active: bool,
    public: bool,
) -> NewUser:
    """The client account, priced with the reseller's margin and given its trial credit
    (moved from the reseller's balance: a reseller that cannot cover it creates nothing)."""
    settings = await program.load(conn, reseller.id)
    country = normalize_country(details.country)
    created = await create_account(
        conn,
        username=details.username,
        password=check_password(details.password),
        email=check_email(details.email),
        phone=check_phone(details.phone, country),
        first_name=details.first_name.strip(),
        last_name=details.last_name.strip(),
        account_name=details.account_name.strip(),
        country=country,
        # One currency on both sides: transfers move amounts, not exchange them.
        currency=reseller.currency,
        active=active,
    )
    now = int(time.time())
    await store.add_client(conn, created.account.id, reseller.id, public=public, now=now)
    if settings.default_margin_bp:
        await program.set_margin(conn, created.account.id, settings.default_margin_bp)
    if settings.trial_balance_micros:
        await transfer(
            conn,
            from_account_id=reseller.id,
            to_account_id=created.account.id,
            amount_micros=settings.trial_balance_micros,
        )
    client = await store.get_client(conn, reseller.id, created.user.id)
    assert client is not None  # just linked
    return NewUser(client[0], client[1], created.api_key, None)


async def create_client(
    conn: AsyncConnection, principal: Principal, details: ClientDetails
) -> NewUser:
    await program.require_reseller(conn, principal)
    return await _create(conn, principal.account, details, active=True, public=False)


async def sign_up(
    conn: AsyncConnection,
    reseller_user_id: int,
    details: ClientDetails,
    *,
    mail: AccountMail,
    base_url: str,
    ttl: int,
) -> NewUser:
    """Sign-up on a reseller's public page: no caller, so the account stays inactive
    until the token mailed to its address comes back (as `POST /v3/account`'s do)."""
    reseller = await _public_reseller(conn, reseller_user_id)
    created = await _create(conn, reseller, details, active=False, public=True)
    token = await tokens.issue(
        conn, created.user.id, tokens.ACTIVATION, ttl=ttl, now=int(time.time())
    )
    await mail(conn, created.user, letters.activation(created.user, token, base_url, ttl))
    return created


async def _public_reseller(conn: AsyncConnection, reseller_user_id: int) -> Account:
    found = await accounts_store.user_and_account(conn, reseller_user_id, None)
    if found is not None:
        user, account = found
        if user.is_main and program.is_reseller(account.settings) and not account.banned:
            if not (await program.load(conn, account.id)).allow_public_signups:
                raise Forbidden("This reseller does not accept public sign-ups.")
            return account
    raise NotFound(f"Reseller #{reseller_user_id} not found.", field="reseller_user_id")


async def list_clients(conn: AsyncConnection, principal: Principal, params: ListQuery) -> Page:
    await program.require_reseller(conn, principal)
    return await store.list_clients(conn, principal.account.id, params)


async def get_client(
    conn: AsyncConnection, principal: Principal, client_user_id: int
) -> tuple[User, Account]:
    await program.require_reseller(conn, principal)
    found = await store.get_client(conn, principal.account.id, client_user_id)
    if found is None:
        raise NotFound(f"Client account #{client_user_id} not found.")
    return found


async def update_client(
    conn: AsyncConnection, principal: Principal, client_user_id: int, changes: dict[str, Any]
) -> tuple[User, Account]:
    """Change the client's main user and account, as the client itself could with
    `PUT /v3/account` (the same checks: names unique, countries known)."""
    user, account = await get_client(conn, principal, client_user_id)
    if changes.get("password") is not None:
        check_password(changes["password"])
    if changes.get("user_email") is not None:
        changes["user_email"] = check_email(changes["user_email"])
    if changes.get("user_phone") is not None:
        country = changes.get("country") or account.country
        changes["user_phone"] = check_phone(changes["user_phone"], normalize_country(country))
    await accounts.update_account(conn, Principal(user=user, account=account), changes)
    return await get_client(conn, principal, client_user_id)


async def transfer_credit(
    conn: AsyncConnection,
    principal: Principal,
    client_user_id: int,
    amount: Decimal | float | int | str,
    currency: str,
) -> tuple[User, Account]:
    """Move `amount` of the reseller's credit to its client, atomically."""
    await program.require_reseller(conn, principal)
    if currency.strip().upper() != principal.account.currency:
        raise InvalidInput(
            f"currency must be {principal.account.currency}, your account's currency.",
            field="currency",
        )
    amount_micros = accounts.parse_money(amount, "balance")
    _, client = await get_client(conn, principal, client_user_id)
    await transfer(
        conn,
        from_account_id=principal.account.id,
        to_account_id=client.id,
        amount_micros=amount_micros,
    )
    return await get_client(conn, principal, client_user_id)


async def list_referrals(conn: AsyncConnection, principal: Principal, params: ListQuery) -> Page:
    """The accounts that signed up on the caller's public page: an empty list for an
    account that does not resell (Dovecote runs no other referral scheme)."""
    return await store.list_referrals(conn, principal.account.id, params)
