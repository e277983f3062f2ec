"""Who is a reseller, and a reseller's settings: branding, margins, trial credit.

An account resells when the operator turns its `reseller` option on (`dovecote accounts
set NAME reseller=true`): reselling moves the operator's credit to accounts the operator
does not create, so it is the operator's decision, not a self-service switch. Within such
an account, the main user and users holding `access_reseller` act for it. A reseller's
client cannot resell in turn: its prices would stack two margins, and its clients would
sit two owners away from the operator.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from dovecote.accounts import store as accounts_store
from dovecote.accounts.service import parse_money, require
from dovecote.core.errors import Forbidden, InvalidInput, NotFound
from dovecote.core.models import Principal
from dovecote.pipeline.pricing import MARGIN_KEY
from dovecote.reseller import store

OPTION = "reseller"  # the account option (accounts.settings) that makes an account a reseller
PERMISSION = "access_reseller"
MAX_MARGIN_BP = 100_000  # 1000 %: beyond it a margin is a typo, not a price
# Literal paths under /v3/reseller/: a subdomain spelled like one could never be looked up.
RESERVED = frozenset({"accounts", "accounts-public", "transfer-credit"})
_SUBDOMAIN = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_COLOUR = re.compile(r"#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})")


@dataclass(frozen=True, slots=True)
class Program:
    account_id: int
    reseller_user_id: int  # the reseller's main user: ClickSend names a reseller by it
    subdomain: str | None
    company_name: str
    colour_navigation: str
    logo_url_light: str
    logo_url_dark: str
    allow_public_signups: bool
    default_margin_bp: int
    default_margin_numbers_bp: int
    trial_balance_micros: int


def is_reseller(settings: Mapping[str, Any]) -> bool:
    return settings.get(OPTION) is True


async def require_reseller(conn: AsyncConnection, principal: Principal) -> None:
    if not is_reseller(principal.account.settings):
        raise Forbidden(
            "This account is not a reseller; the operator enables reselling "
            "(dovecote accounts set NAME reseller=true).",
            code="NOT_A_RESELLER",
        )
    require(principal, PERMISSION)
    if await store.reseller_of(conn, principal.account.id) is not None:
        raise Forbidden("A reseller's client cannot resell.", code="NOT_A_RESELLER")


async def _main_user_id(conn: AsyncConnection, account_id: int) -> int:
    user_id = await store.main_user_id(conn, account_id)
    if user_id is None:
        raise NotFound("Reseller not found.")
    return user_id


def _program(account_id: int, user_id: int, row: Mapping[str, Any] | None) -> Program:
    if row is None:  # never saved: the defaults, no subdomain, no public sign-ups
        return Program(account_id, user_id, None, "", "", "", "", False, 0, 0, 0)
    return Program(
        account_id=account_id,
        reseller_user_id=user_id,
        subdomain=row["subdomain"],
        company_name=row["company_name"],
        colour_navigation=row["colour_navigation"],
        logo_url_light=row["logo_url_light"],
        logo_url_dark=row["logo_url_dark"],
        allow_public_signups=bool(row["allow_public_signups"]),
        default_margin_bp=row["default_margin_bp"],
        default_margin_numbers_bp=row["default_margin_numbers_bp"],
        trial_balance_micros=row["trial_balance_micros"],
    )


async def load(conn: AsyncConnection, account_id: int) -> Program:
    row = await store.get_program(conn, account_id)
    return _program(account_id, await _main_user_id(conn, account_id), row)


async def get_program(conn: AsyncConnection, principal: Principal) -> Program:
    await require_reseller(conn, principal)
    return await load(conn, principal.account.id)


def parse_margin(value: Decimal | int | float | str, field: str) -> int:
    """A percentage with at most two decimals → hundredths of a percent."""
    try:
        percent = Decimal(str(value))
    except InvalidOperation:
        raise InvalidInput(f"{field} must be a percentage.", field=field) from None
    if not percent.is_finite() or percent < 0 or percent * 100 > MAX_MARGIN_BP:
        raise InvalidInput(f"{field} must be between 0 and 1000 (percent).", field=field)
    hundredths = percent * 100
    if hundredths != hundredths.to_integral_value():
        raise InvalidInput(f"{field} takes at most two decimals.", field=field)
    return int(hundredths)


def _url(value: str, field: str) -> str:
    url = value.strip()
    if url and not re.match(r"https?://[^\s]+$", url):
        raise InvalidInput(f"{field} must be an http(s) URL.", field=field)
    return url


def check_subdomain(value: str) -> str:
    subdomain = value.strip().lower()
    if not _SUBDOMAIN.fullmatch(subdomain) or subdomain in RESERVED:
        raise InvalidInput(
            "subdomain must be 1 to 63 letters, digits or inner hyphens "
            f"(not {', '.join(sorted(RESERVED))}).",
            field="subdomain",
        )
    return subdomain


async def update_program(
    conn: AsyncConnection, principal: Principal, changes: Mapping[str, Any]
) -> Program:
    """Apply the given settings (a field left out keeps its value). A new default margin
    reprices every client at once: it is copied into each client's account settings,
    where the price lookup reads it (`pipeline.pricing.client_price`)."""
    current = await get_program(conn, principal)
    values: dict[str, Any] = {
        "subdomain": current.subdomain,
        "company_name": current.company_name,
        "colour_navigation": current.colour_navigation,
        "logo_url_light": current.logo_url_light,
        "logo_url_dark": current.logo_url_dark,
        "allow_public_signups": current.allow_public_signups,
        "default_margin_bp": current.default_margin_bp,
        "default_margin_numbers_bp": current.default_margin_numbers_bp,
        "trial_balance_micros": current.trial_balance_micros,
    }
    if changes.get("subdomain") is not None:
        values["subdomain"] = check_subdomain(changes["subdomain"])
    if changes.get("company_name") is not None:
        values["company_name"] = changes["company_name"].strip()
    if changes.get("colour_navigation") is not None:
        colour = changes["colour_navigation"].strip()
        if colour and not _COLOUR.fullmatch(colour):
            raise InvalidInput(
                "colour_navigation must be a colour like #9999FF.", field="colour_navigation"
            )
        values["colour_navigation"] = colour
    for name in ("logo_url_light", "logo_url_dark"):
        if changes.get(name) is not None:
            values[name] = _url(changes[name], name)
    if changes.get("allow_public_signups") is not None:
        if changes["allow_public_signups"] not in (0, 1):
            raise InvalidInput("allow_public_signups must be 0 or 1.", field="allow_public_signups")
        values["allow_public_signups"] = bool(changes["allow_public_signups"])
    for wire, column in (
        ("default_margin", "default_margin_bp"),
        ("default_margin_numbers", "default_margin_numbers_bp"),
    ):
        if changes.get(wire) is not None:
            values[column] = parse_margin(changes[wire], wire)
    if changes.get("trial_balance") is not None:
        values["trial_balance_micros"] = parse_money(changes["trial_balance"], "trial_balance")
    values["updated_at"] = int(time.time())
    await store.save_program(conn, principal.account.id, values)
    if values["default_margin_bp"] != current.default_margin_bp:
        await reprice_clients(conn, principal.account.id, values["default_margin_bp"])
    return await load(conn, principal.account.id)


async def reprice_clients(conn: AsyncConnection, reseller_account_id: int, margin_bp: int) -> None:
    for account_id in await store.client_account_ids(conn, reseller_account_id):
        await set_margin(conn, account_id, margin_bp)


async def set_margin(conn: AsyncConnection, account_id: int, margin_bp: int) -> None:
    account = await accounts_store.get_account(conn, account_id)
    if account is None:
        return
    settings = dict(account.settings)
    if margin_bp:
        settings[MARGIN_KEY] = margin_bp
    else:
        settings.pop(MARGIN_KEY, None)
    await accounts_store.update_account(conn, account_id, {"settings": settings})


async def by_subdomain(conn: AsyncConnection, subdomain: str) -> Program:
    """A reseller's public branding (its sign-up page reads it before anyone logs in);
    an account no longer reselling has none."""
    row = await store.program_by_subdomain(conn, subdomain.strip().lower())
    account = None if row is None else await accounts_store.get_account(conn, row["account_id"])
    if row is None or account is None or not is_reseller(account.settings) or account.banned:
        raise NotFound(f"No reseller has the subdomain '{subdomain}'.")
    return _program(account.id, await _main_user_id(conn, account.id), row)
