"""Payment providers: turn a card into a token, charge a token.

Dovecote never stores a card number: `tokenize` checks the card and answers a token plus
what may be shown again (last four digits, brand, expiry); only that is saved. A real
provider (Stripe, Adyen, …) implements the same two calls against its own API.

CardError (400, a ClickSend envelope naming the field)
 ├── invalid card input: number fails Luhn, expiry passed, CVC malformed
 └── declines: `card_declined`, `insufficient_funds`, … (Stripe's decline codes)
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Protocol

from dovecote.core.errors import InvalidInput


class CardError(InvalidInput):
    """A card the provider will not take; `code` is the decline code, upper-cased."""


@dataclass(frozen=True, slots=True)
class Card:
    number: str
    expiry_month: int
    expiry_year: int
    cvc: str
    name: str


@dataclass(frozen=True, slots=True)
class Tokenized:
    token: str
    last4: str
    brand: str


@dataclass(frozen=True, slots=True)
class Charge:
    id: str


class PaymentProvider(Protocol):
    name: str

    def tokenize(self, card: Card, *, year: int, month: int) -> Tokenized:
        """Check and save `card` at the provider; (year, month) is today, for the expiry."""
        ...

    def charge(self, token: str, amount_micros: int, currency: str, description: str) -> Charge:
        """Take the amount from the tokenized card, or raise CardError."""
        ...

    def refund(self, charge_id: str) -> None:
        """Give a charge back in full (a purchase whose credit could not be written)."""
        ...


def luhn_ok(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def brand_of(digits: str) -> str:
    if digits.startswith("4"):
        return "Visa"
    if digits[:2] in {"51", "52", "53", "54", "55"} or "2221" <= digits[:4] <= "2720":
        return "Mastercard"
    if digits[:2] in {"34", "37"}:
        return "American Express"
    if digits.startswith(("6011", "65")):
        return "Discover"
    return "Card"


def check(card: Card, *, year: int, month: int) -> str:
    """The card's digits, or CardError for what no provider would accept."""
    digits = card.number.replace(" ", "").replace("-", "")
    if not digits.isdigit() or not 12 <= len(digits) <= 19 or not luhn_ok(digits):
        raise CardError("The card number is not valid.", code="INVALID_NUMBER", field="number")
    if not 1 <= card.expiry_month <= 12:
        raise CardError(
            "expiry_month must be 1 to 12.", code="INVALID_EXPIRY", field="expiry_month"
        )
    expiry_year = card.expiry_year + 2000 if card.expiry_year < 100 else card.expiry_year
    if (expiry_year, card.expiry_month) < (year, month):
        raise CardError("The card has expired.", code="EXPIRED_CARD", field="expiry_year")
    wanted = 4 if brand_of(digits) == "American Express" else 3
    if not (card.cvc.isdigit() and len(card.cvc) == wanted):
        raise CardError(f"The CVC must be {wanted} digits.", code="INVALID_CVC", field="cvc")
    return digits


# Stripe's test cards (https://docs.stripe.com/testing): these fail when the card is saved…
DECLINED_ON_SAVE = {
    "4000000000000002": ("card_declined", "The card was declined."),
    "4000000000009995": ("insufficient_funds", "The card has insufficient funds."),
    "4000000000009987": ("lost_card", "The card was declined (lost card)."),
    "4000000000009979": ("stolen_card", "The card was declined (stolen card)."),
    "4000000000000069": ("expired_card", "The card has expired."),
    "4000000000000127": ("incorrect_cvc", "The card's security code is incorrect."),
    "4000000000000119": ("processing_error", "An error occurred while processing the card."),
}
# …and this one saves but every charge is declined, as Stripe's 4000 0000 0000 0341 does.
DECLINED_ON_CHARGE = "4000000000000341"
_CHARGE_FAILS = "tok_sandbox_declines_"
_CHARGE_OK = "tok_sandbox_"


class SandboxPaymentProvider:
    """Takes every valid test card but the decline numbers above; nothing leaves the host.

    Which cards decline at charge time is carried in the token itself (the sandbox keeps
    no state), never the card number."""

    name = "sandbox"

    def tokenize(self, card: Card, *, year: int, month: int) -> Tokenized:
        digits = check(card, year=year, month=month)
        if digits in DECLINED_ON_SAVE:
            code, message = DECLINED_ON_SAVE[digits]
            raise CardError(message, code=code.upper(), field="number")
        prefix = _CHARGE_FAILS if digits == DECLINED_ON_CHARGE else _CHARGE_OK
        return Tokenized(prefix + secrets.token_urlsafe(18), digits[-4:], brand_of(digits))

    def charge(self, token: str, amount_micros: int, currency: str, description: str) -> Charge:
        if token.startswith(_CHARGE_FAILS):
            raise CardError("The card was declined.", code="CARD_DECLINED", field="card")
        if not token.startswith(_CHARGE_OK):
            raise CardError("The saved card is not known to the sandbox.", field="card")
        return Charge("ch_sandbox_" + secrets.token_urlsafe(18))

    def refund(self, charge_id: str) -> None:
        if not charge_id.startswith("ch_sandbox_"):
            raise CardError("The charge is not known to the sandbox.", field="charge")


PROVIDERS: dict[str, type[PaymentProvider]] = {"sandbox": SandboxPaymentProvider}
