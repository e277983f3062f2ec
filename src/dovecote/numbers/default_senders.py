"""Default senders: per recipient country, an ordered list of strategies ("our alpha tag,
else our toll-free number") that gives an SMS without `from` its sender."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from dovecote.accounts import store as accounts_store
from dovecote.core.errors import InvalidInput, NotFound
from dovecote.core.ids import new_id
from dovecote.core.models import Principal
from dovecote.numbers import senders
from dovecote.numbers import senders_store as store
from dovecote.numbers.inventory import normalize_country
from dovecote.storage.tables import default_senders

PRODUCT_TYPES: Final = frozenset({"SMS"})
MAX_STRATEGIES: Final = 10
MAX_NOTE: Final = 200


@dataclass(frozen=True, slots=True)
class DefaultSender:
    id: str
    user_id: int
    country_code: str
    product_type: str
    strategies: tuple[Mapping[str, Any], ...]
    status: str
    created_at: int
    updated_at: int


def default_from_row(row: Mapping[Any, Any]) -> DefaultSender:
    return DefaultSender(
        id=row["id"],
        user_id=int(row["user_id"]),
        country_code=row["country_code"],
        product_type=row["product_type"],
        strategies=tuple(senders.ordered(row["strategies"] or ())),
        status=row["status"],
        created_at=int(row["created_at"]),
        updated_at=int(row["updated_at"]),
    )


async def _strategies(
    conn: AsyncConnection,
    principal: Principal,
    raw: Sequence[Mapping[str, Any]] | None,
    country: str,
) -> list[dict[str, Any]]:
    """Each strategy must name a sender the account may use now (so a typo is a 400,
    not an SMS that silently goes from the shared number)."""
    if not raw:
        raise InvalidInput(
            "default_sender_strategies must list at least one strategy.",
            field="default_sender_strategies",
        )
    if len(raw) > MAX_STRATEGIES:
        raise InvalidInput(
            f"At most {MAX_STRATEGIES} strategies.", field="default_sender_strategies"
        )
    book = await senders.sender_book(conn, principal.account.id)
    checked = []
    for priority, strategy in enumerate(raw, start=1):
        sender_type = str(strategy.get("sender_type") or "")
        sender_id = str(strategy.get("sender_id") or "").strip()
        if sender_type not in senders.SENDER_TYPES:
            known = ", ".join(sorted(senders.SENDER_TYPES))
            raise InvalidInput(f"sender_type must be one of {known}.", field="sender_type")
        sender_country = strategy.get("sender_country_code")
        if sender_country:
            sender_country = normalize_country(str(sender_country), "sender_country_code")
        if not sender_id or book.resolve(sender_type, sender_id, sender_country or country) is None:
            raise InvalidInput(
                f"sender_id {sender_id!r} is not a {sender_type} this account may use.",
                code=senders.INVALID_SENDER_ID,
                field="sender_id",
            )
        note = strategy.get("note")
        if note is not None and len(str(note)) > MAX_NOTE:
            raise InvalidInput(f"note must be at most {MAX_NOTE} characters.", field="note")
        checked.append(
            {
                "sender_type": sender_type,
                "sender_id": sender_id,
                "sender_country_code": sender_country or None,
                "priority": priority,
                "status": "ENABLED",
                "note": None if note is None else str(note),
            }
        )
    return checked


async def create(
    conn: AsyncConnection,
    principal: Principal,
    country_code: str | None,
    product_type: str | None,
    strategies: Sequence[Mapping[str, Any]] | None,
) -> DefaultSender:
    country = normalize_country(country_code or "", "country_code")
    product = (product_type or "").strip().upper()
    if product not in PRODUCT_TYPES:
        raise InvalidInput("product_type must be SMS.", field="product_type")
    now = int(time.time())
    values = {
        "id": new_id().lower(),
        "account_id": principal.account.id,
        "user_id": principal.user.id,
        "country_code": country,
        "product_type": product,
        "strategies": await _strategies(conn, principal, strategies, country),
        "status": "ENABLED",
        "created_at": now,
        "updated_at": now,
    }
    try:
        async with conn.begin_nested():
            row = await store.insert(conn, default_senders, values)
    except IntegrityError:
        raise InvalidInput(
            f"A default sender for {country} already exists; update it instead.",
            field="country_code",
        ) from None
    await _flag(conn, principal.account.id)
    return default_from_row(row)


async def _flag(conn: AsyncConnection, account_id: int) -> None:
    """Record in the account's settings whether it has default senders (see
    `senders.HAS_DEFAULTS`); the send path reads it from the caller's account row."""
    account = await accounts_store.get_account(conn, account_id)
    assert account is not None  # the caller's own account
    has = bool(await store.listing(conn, default_senders, account_id, limit=1))
    if bool(account.settings.get(senders.HAS_DEFAULTS)) != has:
        merged = {**account.settings, senders.HAS_DEFAULTS: has}
        await accounts_store.update_account(conn, account_id, {"settings": merged})


async def list_defaults(
    conn: AsyncConnection, principal: Principal, *, offset: int, limit: int, descending: bool
) -> list[DefaultSender]:
    rows = await store.listing(
        conn,
        default_senders,
        principal.account.id,
        descending=descending,
        limit=limit,
        offset=offset,
    )
    return [default_from_row(row) for row in rows]


async def get(conn: AsyncConnection, principal: Principal, default_id: str) -> DefaultSender:
    row = await store.get(conn, default_senders, principal.account.id, default_id)
    if row is None:
        raise NotFound(f"Default sender {default_id} not found.")
    return default_from_row(row)


async def update(
    conn: AsyncConnection,
    principal: Principal,
    default_id: str,
    strategies: Sequence[Mapping[str, Any]] | None,
) -> DefaultSender:
    item = await get(conn, principal, default_id)
    values = {
        "strategies": await _strategies(conn, principal, strategies, item.country_code),
        "updated_at": int(time.time()),
    }
    row = await store.update(conn, default_senders, principal.account.id, default_id, values)
    assert row is not None  # read above in this transaction
    return default_from_row(row)


async def delete(conn: AsyncConnection, principal: Principal, default_id: str) -> None:
    if not await store.delete(conn, default_senders, principal.account.id, default_id):
        raise NotFound(f"Default sender {default_id} not found.")
    await _flag(conn, principal.account.id)
