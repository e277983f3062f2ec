"""ClickSend's placeholders in message bodies: `{first_name}`, `{custom1}` … filled from
a contact. A placeholder no contact field answers is refused before anything is sent, so a
typo never reaches thousands of recipients as literal `{frist_name}`."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final

from dovecote.core.errors import InvalidInput

# Placeholder → contact field. ClickSend documents `{custom1}`; `{custom_1}` (the field's
# own name) and the other field names work too.
PLACEHOLDERS: Final[Mapping[str, str]] = {
    "first_name": "first_name",
    "last_name": "last_name",
    "custom1": "custom_1",
    "custom2": "custom_2",
    "custom3": "custom_3",
    "custom4": "custom_4",
    "custom_1": "custom_1",
    "custom_2": "custom_2",
    "custom_3": "custom_3",
    "custom_4": "custom_4",
    "phone": "phone_number",
    "phone_number": "phone_number",
    "fax": "fax_number",
    "fax_number": "fax_number",
    "email": "email",
    "organization_name": "organization_name",
    "organisation_name": "organization_name",
    "address_line_1": "address_line_1",
    "address_line_2": "address_line_2",
    "address_city": "address_city",
    "address_state": "address_state",
    "address_postal_code": "address_postal_code",
    "address_country": "address_country",
}
_PLACEHOLDER: Final = re.compile(r"\{([A-Za-z][A-Za-z0-9_]*)\}")


def check(body: str, field: str = "body") -> None:
    """Refuse a body naming an unknown placeholder (a clear 400 naming it)."""
    for match in _PLACEHOLDER.finditer(body):
        if match.group(1).lower() not in PLACEHOLDERS:
            known = ", ".join("{" + name + "}" for name in PLACEHOLDERS)
            raise InvalidInput(
                f"{field}: unknown placeholder {match.group(0)}; use one of {known}.",
                field=field,
            )


def has_placeholders(body: str) -> bool:
    return _PLACEHOLDER.search(body) is not None


def fill(body: str, contact: Mapping[str, str | None]) -> str:
    """`body` with each placeholder replaced by the contact's field ("" when empty)."""

    def value(match: re.Match[str]) -> str:
        return contact.get(PLACEHOLDERS[match.group(1).lower()]) or ""

    return _PLACEHOLDER.sub(value, body)
