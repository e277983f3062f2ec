"""Which sender types may reach a country: ClickSend's compliant-sender-types.

A static table of the common carrier rules, not a regulator's database: the US and
Canada take no alphanumeric ids (and US application-to-person traffic needs 10DLC,
toll-free or short codes); most other countries take any sender type. A country not
listed gets the permissive default.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from dovecote.core.errors import InvalidInput
from dovecote.numbers.inventory import normalize_country

ALL_TYPES: Final = (
    "alpha_tag",
    "own_number",
    "longcode",
    "shared_longcode",
    "tollfree",
    "shortcode",
)
# Country → (blocked types, {allowed type: sender countries, () meaning any}).
_RULES: Final[dict[str, tuple[tuple[str, ...], dict[str, tuple[str, ...]]]]] = {
    "US": (
        ("alpha_tag", "longcode", "shared_longcode"),
        {"10DLC": ("US",), "tollfree": ("US", "CA"), "shortcode": ("US",), "own_number": ("US",)},
    ),
    "CA": (
        ("alpha_tag",),
        {
            "longcode": ("CA",),
            "tollfree": ("US", "CA"),
            "shortcode": ("CA",),
            "own_number": ("CA",),
            "shared_longcode": ("CA",),
        },
    ),
}
_DEFAULT_SAME_COUNTRY: Final = frozenset({"tollfree", "shortcode"})
LISTED: Final = ("AU", "CA", "GB", "NZ", "US")


def _entry(country: str) -> dict[str, Any]:
    if country in _RULES:
        blocked, allowed = _RULES[country]
    else:
        blocked = ()
        allowed = {kind: (country,) if kind in _DEFAULT_SAME_COUNTRY else () for kind in ALL_TYPES}
    return {
        "recipient_country_code": country,
        "blocked_sender_types": list(blocked),
        "allowed_sender_types": [
            {
                "sender_type": kind,
                "allowed_sender_countries": {"global": not codes, "country_codes": list(codes)},
            }
            for kind, codes in allowed.items()
        ],
    }


def compliant_sender_types(
    product_type: str | None, countries: Sequence[str]
) -> list[dict[str, Any]]:
    if (product_type or "SMS").strip().upper() != "SMS":
        raise InvalidInput("filter[product_type] must be SMS.", field="filter[product_type]")
    codes = [normalize_country(code, "filter[country_code]") for code in countries] or list(LISTED)
    return [_entry(code) for code in dict.fromkeys(codes)]
