"""Postal addresses as ClickSend names their fields, checked the same way everywhere
(letter and postcard recipients, return addresses)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pycountry

from dovecote.core.errors import InvalidInput

# The spec's test postal codes: success, nothing sent, nothing charged.
TEST_POSTAL_CODES = frozenset({"11111", "22222", "33333"})
LIMITS = {
    "address_name": 200,
    "address_line_1": 200,
    "address_line_2": 200,
    "address_city": 100,
    "address_state": 100,
    "address_postal_code": 20,
}
REQUIRED = ("address_name", "address_line_1", "address_city", "address_postal_code")


@dataclass(frozen=True, slots=True)
class Address:
    address_name: str
    address_line_1: str
    address_line_2: str
    address_city: str
    address_state: str
    address_postal_code: str
    address_country: str

    def fields(self) -> dict[str, str]:
        return {
            "address_name": self.address_name,
            "address_line_1": self.address_line_1,
            "address_line_2": self.address_line_2,
            "address_city": self.address_city,
            "address_state": self.address_state,
            "address_postal_code": self.address_postal_code,
            "address_country": self.address_country,
        }

    def lines(self) -> list[str]:
        """The address as printed in an envelope window."""
        locality = " ".join(
            part
            for part in (self.address_city, self.address_state, self.address_postal_code)
            if part
        )
        lines = [self.address_name, self.address_line_1, self.address_line_2, locality]
        return [line for line in lines if line] + [self.address_country]

    def one_line(self) -> str:
        return ", ".join(self.lines())[:320]

    @property
    def is_test(self) -> bool:
        return self.address_postal_code in TEST_POSTAL_CODES


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # the spec's examples send postal codes as numbers
    return " ".join(str(value).split())


def parse(values: dict[str, Any], field: str) -> Address:
    """An address from a request's fields; `InvalidInput` naming what is missing or wrong."""
    cleaned = {name: _text(values.get(name)) for name in (*LIMITS, "address_country")}
    missing = [name for name in REQUIRED if not cleaned[name]]
    if not cleaned["address_country"]:
        missing.append("address_country")
    if missing:
        raise InvalidInput(
            f"{field}: {', '.join(missing)} required.", field=field, code="MISSING_REQUIRED_FIELDS"
        )
    for name, limit in LIMITS.items():
        if len(cleaned[name]) > limit:
            raise InvalidInput(f"{field}: {name} is longer than {limit} characters.", field=field)
    country = cleaned["address_country"].upper()
    if len(country) != 2 or pycountry.countries.get(alpha_2=country) is None:
        raise InvalidInput(
            f"{field}: address_country must be a two-letter ISO 3166 code.", field=field
        )
    cleaned["address_country"] = country
    return Address(**cleaned)
