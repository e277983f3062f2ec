"""The dedicated-number inventory: what the operator offers, what accounts bought.

The operator loads numbers from a CSV file (`dovecote numbers import`); an account finds
them with a search and buys one: the number is assigned and its monthly price debited in
the caller's one transaction, so a purchase either happens whole or not at all, and two
accounts racing for one number cannot both get it (the assignment is a conditional
UPDATE on "still for sale"). Inbound traffic to a bought number belongs to its owner.
"""

from __future__ import annotations

import csv
import io
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Final

import phonenumbers
import pycountry
from sqlalchemy.ext.asyncio import AsyncConnection

from dovecote.billing import ledger
from dovecote.core.errors import Forbidden, InvalidInput
from dovecote.core.models import Principal
from dovecote.core.money import to_micros
from dovecote.core.phone import InvalidRecipient, parse_recipient
from dovecote.numbers import inventory_store as store
from dovecote.pipeline import queue
from dovecote.storage.listing import ListQuery, Page

CSV_COLUMNS: Final = ("number", "country", "type", "capabilities", "monthly_price", "connector")
CAPABILITIES: Final = frozenset({"sms", "mms", "voice", "fax"})
_TYPE = re.compile(r"[a-z0-9_-]{1,16}")
_CONNECTOR = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_DIGITS = re.compile(r"[0-9]{1,15}")

# Registration states, in SDK 6's order (`status.value`), with its names and labels.
REGISTRATION: Final[dict[str, tuple[int, str]]] = {
    "NOT_REQUIRED": (0, "Ready to use"),
    "NOT_INITIATED": (1, "Unregistered"),
    "INITIATED": (2, "Decision Pending"),
    "CUST_ACTION_REQUIRED": (3, "Action Required"),
    "SUBMITTED": (4, "Limited Availability"),
    "REGISTERED": (5, "Registered"),
}
SEARCH_STARTS, SEARCH_ANYWHERE, SEARCH_ENDS = 0, 1, 2
MONTH: Final = 30 * 86_400  # a number is paid for 30 days at a time


@dataclass(frozen=True, slots=True)
class Number:
    number: str
    country: str
    number_type: str
    capabilities: tuple[str, ...]
    price_monthly_micros: int
    connector: str | None
    account_id: int | None
    registration: str

    @property
    def country_name(self) -> str:
        return country_name(self.country)


def number_from_row(row: Mapping[Any, Any]) -> Number:
    return Number(
        number=row["number"],
        country=row["country"],
        number_type=row["number_type"],
        capabilities=tuple(row["capabilities"].split(",")) if row["capabilities"] else (),
        price_monthly_micros=int(row["price_monthly_micros"]),
        connector=row["connector"],
        account_id=row["account_id"],
        registration=row["registration"],
    )


def country_name(code: str) -> str:
    country = pycountry.countries.get(alpha_2=code)
    return str(country.name) if country else code


def normalize_country(raw: str, field: str = "country") -> str:
    code = raw.strip().upper()
    if len(code) != 2 or pycountry.countries.get(alpha_2=code) is None:
        raise InvalidInput(f"{field} must be an ISO 3166-1 alpha-2 country code.", field=field)
    return code


def normalize_number(raw: str, country: str | None = None, field: str = "dedicated_number") -> str:
    try:
        return parse_recipient(raw, country).e164
    except InvalidRecipient as exc:
        raise InvalidInput(f"{field}: {exc}", field=field) from None


# --- the operator's import ------------------------------------------------------------


def parse_csv(text: str) -> list[dict[str, Any]]:
    """The inventory file → rows for `numbers`; every line is checked before any is kept,
    and the first bad one is named by its line number."""
    reader = csv.DictReader(io.StringIO(text))
    header = [name.strip().lower() for name in reader.fieldnames or []]
    missing = [name for name in CSV_COLUMNS[:5] if name not in header]
    if missing:
        raise InvalidInput(
            f"the CSV header must name {', '.join(CSV_COLUMNS)} (missing: {', '.join(missing)})."
        )
    reader.fieldnames = header
    rows: dict[str, dict[str, Any]] = {}
    for record in reader:
        line = reader.line_num
        try:
            row = _parse_record({k: (v or "").strip() for k, v in record.items() if k})
        except InvalidInput as exc:
            raise InvalidInput(f"line {line}: {exc.message}", field=exc.field) from None
        if row["number"] in rows:
            raise InvalidInput(f"line {line}: {row['number']} is listed twice.", field="number")
        rows[row["number"]] = row
    return list(rows.values())


def _parse_record(record: Mapping[str, str]) -> dict[str, Any]:
    country = normalize_country(record.get("country", ""))
    number = normalize_number(record.get("number", ""), country, field="number")
    number_type = record.get("type", "").lower()
    if not _TYPE.fullmatch(number_type):
        raise InvalidInput("type must be a short word such as longcode or tollfree.", field="type")
    capabilities = sorted(
        set(re.split(r"[\s;|,/]+", record.get("capabilities", "").lower())) - {""}
    )
    unknown = set(capabilities) - CAPABILITIES
    if not capabilities or unknown:
        known = ", ".join(sorted(CAPABILITIES))
        raise InvalidInput(f"capabilities must be among {known}.", field="capabilities")
    try:
        price = Decimal(record.get("monthly_price", ""))
        micros = to_micros(price) if price.is_finite() and price >= 0 else -1
    except (InvalidOperation, ValueError):
        micros = -1
    if micros < 0:
        raise InvalidInput("monthly_price must be an amount such as 2.50.", field="monthly_price")
    connector = record.get("connector") or None
    if connector is not None and not _CONNECTOR.fullmatch(connector):
        raise InvalidInput("connector must be a connector name.", field="connector")
    return {
        "number": number,
        "country": country,
        "number_type": number_type,
        "capabilities": ",".join(capabilities),
        "price_monthly_micros": micros,
        "connector": connector,
    }


async def import_csv(
    conn: AsyncConnection, text: str, *, now: int | None = None
) -> tuple[int, int]:
    """Load an inventory file: new numbers are added, known ones get the file's terms
    (owners are kept). Returns (created, updated)."""
    rows = parse_csv(text)
    if not rows:
        raise InvalidInput("the CSV file lists no numbers.")
    return await store.upsert(conn, rows, int(time.time()) if now is None else now)


# --- what accounts do -------------------------------------------------------------------


async def list_numbers(conn: AsyncConnection, principal: Principal, params: ListQuery) -> Page:
    return await store.list_owned(conn, principal.account.id, params)


def search_pattern(country: str, search: str | None, search_type: int | None) -> str | None:
    """A LIKE pattern over the number's national digits (after the country code)."""
    if search is None or search == "":
        return None
    if not _DIGITS.fullmatch(search):
        raise InvalidInput("search must be digits.", field="search")
    kind = SEARCH_ANYWHERE if search_type is None else search_type
    prefix = f"+{phonenumbers.country_code_for_region(country)}"
    if kind == SEARCH_STARTS:
        return f"{prefix}{search}%"
    if kind == SEARCH_ANYWHERE:
        return f"{prefix}%{search}%"
    if kind == SEARCH_ENDS:
        return f"{prefix}%{search}"
    raise InvalidInput(
        "search_type must be 0 (starts with), 1 (anywhere) or 2 (ends with).", field="search_type"
    )


async def search(
    conn: AsyncConnection,
    country: str,
    search_text: str | None,
    search_type: int | None,
    params: ListQuery,
) -> Page:
    code = normalize_country(country)
    pattern = search_pattern(code, search_text, search_type)
    return await store.search_available(conn, code, pattern, params)


async def buy(
    conn: AsyncConnection,
    principal: Principal,
    raw_number: str,
    *,
    capability: str | None = None,
    now: int | None = None,
) -> Number:
    """Assign a number for sale to the caller's account and debit its monthly price."""
    if not principal.can("access_billing"):
        raise Forbidden("Buying a number needs the access_billing permission.")
    number = normalize_number(raw_number)
    row = await store.get(conn, number)
    if row is None:
        raise InvalidInput(f"{number} is not a number Dovecote offers.", field="dedicated_number")
    item = number_from_row(row)
    if item.account_id == principal.account.id:
        raise InvalidInput(f"{number} is already yours.", field="dedicated_number")
    if item.account_id is not None:
        raise InvalidInput(f"{number} is not available.", field="dedicated_number")
    if capability is not None and capability.lower() not in item.capabilities:
        raise InvalidInput(f"{number} cannot carry {capability}.", field="type")
    stamp = int(time.time()) if now is None else now
    if not await store.assign(
        conn, number, principal.account.id, principal.user.id, stamp, stamp + MONTH
    ):
        raise InvalidInput(f"{number} is not available.", field="dedicated_number")
    # Same transaction as the assignment: a failed debit raises, and the caller's
    # transaction rolls the assignment back with it.
    if not await queue.debit(
        conn,
        principal.account.id,
        item.price_monthly_micros,
        kind=ledger.NUMBER_RENTAL,
        reference=f"{number}: first month",
    ):
        raise InvalidInput(
            f"Your balance does not cover {number}'s monthly price.",
            code="INSUFFICIENT_CREDIT",
            field="dedicated_number",
        )
    return Number(**{**_fields(item), "account_id": principal.account.id})


def _fields(item: Number) -> dict[str, Any]:
    return {name: getattr(item, name) for name in Number.__slots__}


async def register(
    conn: AsyncConnection,
    principal: Principal,
    number_type: str,
    country_code: str,
    details: Mapping[str, str | None],
) -> list[str]:
    """Record a registration request (10DLC, toll-free) for the account's numbers of that
    type and country; they show as submitted until the operator marks them registered."""
    country = normalize_country(country_code, "country_code")
    if not _TYPE.fullmatch(number_type.lower()):
        raise InvalidInput("number_type must be a number type such as 10dlc.", field="number_type")
    for name, value in details.items():
        if not value or not value.strip():
            raise InvalidInput(f"{name} must not be empty.", field=name)
    return await store.mark_registration(
        conn, principal.account.id, country, number_type, "SUBMITTED"
    )


async def owner_of(conn: AsyncConnection, number: str) -> tuple[int, int] | None:
    """(account_id, user_id) of the account that bought `number` (E.164), if any."""
    return await store.owner(conn, number)


async def owned_numbers(conn: AsyncConnection, account_id: int) -> set[str]:
    return await store.owned_numbers(conn, account_id)
