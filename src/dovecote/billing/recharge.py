"""Recharge: the packages on offer, the saved card, buying a package, its transactions.

A purchase charges the saved card first, then writes the transaction row and its ledger
credit in one database transaction; if that write fails the charge is refunded, so the
customer is never charged without being credited nor credited without being charged.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from dovecote.billing import ledger
from dovecote.billing import recharge_store as store
from dovecote.billing.payments import Card, CardError, PaymentProvider
from dovecote.core.errors import InvalidInput, NotFound
from dovecote.core.models import Principal
from dovecote.core.money import MICROS_PER_UNIT, from_micros
from dovecote.storage.listing import ListQuery, Page

# Package id → price in whole units of the account's currency (ClickSend's ladder).
PACKAGES = {1: 20, 2: 50, 3: 100, 4: 200, 5: 500, 6: 1000}

# Package fields ClickSend lists: (price field, quantity field or None, price-book channel).
_PRICED = (
    ("sms_price", "sms_quantity", "sms"),
    ("mms_price", "mms_quantity", "mms"),
    ("voice_mobile_price", "voice_mobile_quantity", "voice"),
    ("voice_landline_price", "voice_landline_quantity", "voice"),
    ("email_price", "email_quantity", "email"),
    ("fax_price", "fax_quantity", "fax"),
    ("post_letter_black_price", "post_letter_black_quantity", "post"),
    ("post_page_colour_price", None, "post-colour"),
    ("postcard_price", "postcard_quantity", "postcard"),
    ("post_direct_mail_dl_price", None, "post-direct-mail"),
    ("post_direct_mail_a5_price", None, "post-direct-mail"),
)


class UnitPrices(Protocol):
    """What recharge needs of the price book (`pipeline.pricing.PriceBook`, a layer up)."""

    def unit_price(self, channel: str, currency: str, country: str) -> Decimal: ...


def packages(prices: UnitPrices, currency: str, country: str) -> list[dict[str, Any]]:
    """Each package with what it buys at `country`'s prices: quantity = ⌊price / unit⌋."""
    answer = []
    for package_id, amount in PACKAGES.items():
        item: dict[str, Any] = {"package_id": package_id, "package_price": f"{amount}.00"}
        for price_field, quantity_field, channel in _PRICED:
            unit = prices.unit_price(channel, currency, country)
            item[price_field] = float(unit)  # SDK 6 reads these as numbers
            if quantity_field is not None:
                quantity = (Decimal(amount) / unit).to_integral_value(ROUND_FLOOR) if unit else 0
                item[quantity_field] = int(quantity)
        answer.append(item)
    return answer


@dataclass(frozen=True, slots=True)
class SavedCard:
    display_number: str
    expiry_month: int
    expiry_year: int
    name: str
    token: str


def _saved(row: Mapping[Any, Any]) -> SavedCard:
    return SavedCard(
        display_number=f"XXXX-XXXX-XXXX-{row['last4']}",
        expiry_month=int(row["expiry_month"]),
        expiry_year=int(row["expiry_year"]),
        name=str(row["name"]),
        token=str(row["token"]),
    )


async def card(conn: AsyncConnection, principal: Principal) -> SavedCard:
    row = await store.get_card(conn, principal.account.id)
    if row is None:
        raise NotFound("No credit card has been saved for this account.")
    return _saved(row)


async def save_card(
    conn: AsyncConnection,
    provider: PaymentProvider,
    principal: Principal,
    new: Card,
    *,
    bank_name: str = "",
    now: float | None = None,
) -> SavedCard:
    """Tokenize `new` at the provider and keep only its token, last four digits, brand and
    expiry: the number and CVC go no further than this call."""
    today = time.gmtime(time.time() if now is None else now)
    made = provider.tokenize(new, year=today.tm_year, month=today.tm_mon)
    year = new.expiry_year + 2000 if new.expiry_year < 100 else new.expiry_year
    values = {
        "account_id": principal.account.id,
        "provider": provider.name,
        "token": made.token,
        "last4": made.last4,
        "brand": made.brand,
        "expiry_month": new.expiry_month,
        "expiry_year": year,
        "name": new.name,
        "bank_name": bank_name,
        "updated_at": int(time.time() if now is None else now),
    }
    await store.save_card(conn, values)
    return _saved(values)


@dataclass(frozen=True, slots=True)
class Transaction:
    id: str
    account_id: int
    user_id: int
    package_id: int
    amount_micros: int
    currency: str
    card_last4: str
    card_brand: str
    created_at: int

    @property
    def amount(self) -> Decimal:
        return from_micros(self.amount_micros)


def transaction_from_row(row: Mapping[Any, Any]) -> Transaction:
    return Transaction(**{name: row[name] for name in Transaction.__slots__})


async def purchase(
    engine: AsyncEngine,
    provider: PaymentProvider,
    principal: Principal,
    package_id: int,
    *,
    now: float | None = None,
) -> Transaction:
    """Charge the saved card for the package and credit the account (see module doc)."""
    amount = PACKAGES.get(package_id)
    if amount is None:
        raise NotFound(f"Package {package_id} does not exist.")
    account = principal.account
    async with engine.connect() as conn:
        row = await store.get_card(conn, account.id)
    if row is None:
        raise InvalidInput(
            "Save a credit card (PUT /v3/recharge/credit-card) before buying a package.",
            code="NO_CREDIT_CARD",
        )
    amount_micros = amount * MICROS_PER_UNIT
    transaction_id = str(uuid.uuid4())
    charge = provider.charge(
        str(row["token"]), amount_micros, account.currency, f"Dovecote package #{package_id}"
    )
    made = Transaction(
        id=transaction_id,
        account_id=account.id,
        user_id=principal.user.id,
        package_id=package_id,
        amount_micros=amount_micros,
        currency=account.currency,
        card_last4=str(row["last4"]),
        card_brand=str(row["brand"]),
        created_at=int(time.time() if now is None else now),
    )
    try:
        async with engine.begin() as conn:
            await store.insert_transaction(
                conn, {**_values(made), "provider": provider.name, "charge_id": charge.id}
            )
            if not await ledger.credit(
                conn, account.id, amount_micros, kind=ledger.PURCHASE, reference=transaction_id
            ):
                raise NotFound("The account no longer exists.")
    except BaseException:
        provider.refund(charge.id)
        raise
    return made


def _values(made: Transaction) -> dict[str, Any]:
    return {name: getattr(made, name) for name in Transaction.__slots__}


async def transactions(conn: AsyncConnection, principal: Principal, params: ListQuery) -> Page:
    return await store.list_transactions(conn, principal.account.id, params)


async def transaction(
    conn: AsyncConnection, principal: Principal, transaction_id: str
) -> Transaction:
    row = await store.get_transaction(conn, principal.account.id, transaction_id)
    if row is None:
        raise NotFound(f"Transaction {transaction_id} does not exist.")
    return transaction_from_row(row)


__all__ = ["PACKAGES", "CardError", "SavedCard", "Transaction", "packages", "purchase"]
