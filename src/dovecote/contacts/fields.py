"""A contact's fields: their names on the wire, their limits, and how a value is cleaned.

Phone and fax numbers are stored in E.164, read with the contact's own country
(`address_country`) or else the account's, so `0411 111 111` in an Australian list is
`+61411111111` everywhere after. Emails are checked for syntax only (no DNS: works
offline). A contact needs a phone number, a fax number or an email, as ClickSend says.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from email_validator import EmailNotValidError, validate_email

from dovecote.core.errors import InvalidInput
from dovecote.core.phone import InvalidRecipient, parse_recipient

# Every stored field, in ClickSend's order.
FIELDS: Final = (
    "phone_number",
    "first_name",
    "last_name",
    "custom_1",
    "custom_2",
    "custom_3",
    "custom_4",
    "fax_number",
    "organization_name",
    "email",
    "address_line_1",
    "address_line_2",
    "address_city",
    "address_state",
    "address_postal_code",
    "address_country",
)
REACHABLE: Final = ("phone_number", "fax_number", "email")
# Longest value each field keeps (the columns' widths; custom fields are TEXT).
MAX_LENGTH: Final[Mapping[str, int]] = {
    **{name: 255 for name in FIELDS},
    "custom_1": 4096,
    "custom_2": 4096,
    "custom_3": 4096,
    "custom_4": 4096,
    "email": 320,
    "address_postal_code": 32,
    "phone_number": 64,
    "fax_number": 64,
}


class InvalidContact(InvalidInput):
    """A field of a contact is refused; `field` names it, the message says why."""


def clean_text(name: str, value: object) -> str | None:
    """A field's text, trimmed; None when empty. Numbers (a spreadsheet's postal codes,
    phone numbers read as numbers) become their plain digits."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise InvalidContact(f"{name} must be a string.", field=name)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, str | int | float):
        raise InvalidContact(f"{name} must be a string.", field=name)
    text = str(value).strip()
    if not text:
        return None
    if len(text) > MAX_LENGTH[name]:
        raise InvalidContact(f"{name} is longer than {MAX_LENGTH[name]} characters.", field=name)
    return text


def clean_country(value: object) -> str | None:
    text = clean_text("address_country", value) if value is not None else None
    if text is None:
        return None
    if len(text) != 2 or not text.isascii() or not text.isalpha():
        raise InvalidContact(
            "address_country must be a two-letter ISO 3166 code.", field="address_country"
        )
    return text.upper()


def clean_number(name: str, value: object, country: str) -> str | None:
    text = clean_text(name, value)
    if text is None:
        return None
    try:
        return parse_recipient(text, country).e164
    except InvalidRecipient as exc:
        raise InvalidContact(f"{name}: {exc}.", field=name) from None


def clean_email(value: object) -> str | None:
    text = clean_text("email", value)
    if text is None:
        return None
    try:
        checked = validate_email(text, check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidContact(f"email is not a valid email address: {exc}", field="email") from None
    return str(checked.normalized)


def clean(values: Mapping[str, Any], default_country: str) -> dict[str, str | None]:
    """Every field of `values` that is one of FIELDS, cleaned (absent ones are left out)."""
    cleaned: dict[str, str | None] = {}
    country = clean_country(values.get("address_country"))
    if "address_country" in values:
        cleaned["address_country"] = country
    for name in FIELDS:
        if name not in values or name == "address_country":
            continue
        if name in ("phone_number", "fax_number"):
            cleaned[name] = clean_number(name, values[name], country or default_country)
        elif name == "email":
            cleaned[name] = clean_email(values[name])
        else:
            cleaned[name] = clean_text(name, values[name])
    return cleaned


def require_reachable(contact: Mapping[str, object]) -> None:
    if not any(contact.get(name) for name in REACHABLE):
        raise InvalidContact(
            "A contact needs a phone_number, a fax_number or an email.", field="phone_number"
        )
