"""One country's prices in ClickSend's `GET /v3/pricing/{country}` shape, from the price book.

The price book has one price per channel, currency and country (no volume tiers), so the
four `price_rate_*` tiers ClickSend lists all carry it.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from dovecote.billing.recharge import UnitPrices

_TIERS = ("price_rate_0", "price_rate_1", "price_rate_2", "price_rate_3")


def _text(price: Decimal) -> str:
    return f"{price:.4f}" if price == price.quantize(Decimal("0.0001")) else f"{price:.6f}"


def country_prices(prices: UnitPrices, country: str, currency: str) -> dict[str, Any]:
    def price(channel: str) -> Decimal:
        return prices.unit_price(channel, currency, country)

    letter = price("post")
    return {
        "country": country,
        "sms": {tier: _text(price("sms")) for tier in _TIERS},
        "mms": {"price_mms": _text(price("mms"))},
        "voice": {"price_landline": _text(price("voice")), "price_mobile": _text(price("voice"))},
        "email": {tier: _text(price("email")) for tier in _TIERS},
        "fax": {"price_fax": _text(price("fax"))},
        "post": {
            "price_letter_black": _text(letter),
            "price_letter_colour": _text(letter + price("post-colour")),
            "price_letter_page_colour": _text(price("post-colour")),
            "price_letter_priority_surcharge": _text(price("post-priority")),
            "price_direct_mail_dl": _text(price("post-direct-mail")),
            "price_direct_mail_a5": _text(price("post-direct-mail")),
        },
        "postcard": {"price_postcard": _text(price("postcard"))},
    }
