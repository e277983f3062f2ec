"""`/v3/numbers`: the account's dedicated numbers, search, buy, registrations."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from dovecote.apis.clicksend.envelope import envelope
from dovecote.apis.clicksend.listing import ListParams, render_page
from dovecote.apis.deps import Conn, CurrentPrincipal, RuntimeDep
from dovecote.core.errors import InvalidInput
from dovecote.core.money import from_micros
from dovecote.numbers import inventory
from dovecote.numbers.inventory import Number

router = APIRouter(tags=["Numbers"])

_LIST_KEYS = frozenset({"page", "limit", "q", "order_by", "operator", "search", "search_type"})


class BuyIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    dedicated_number: str | None = Field(default=None, max_length=64)
    type: str | None = Field(default=None, max_length=8)  # "sms" | "mms" (SDK 6)


class RegistrationIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    full_name: str | None = Field(default=None, max_length=200)
    company_name: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=320)
    website_url: str | None = Field(default=None, max_length=500)
    sample_message: str | None = Field(default=None, max_length=1000)
    primary_use_case: str | None = Field(default=None, max_length=500)
    company_number: str | None = Field(default=None, max_length=100)
    area_code: str | None = Field(default=None, max_length=16)


def _price(micros: int) -> str:
    return f"{from_micros(micros):.2f}"


def _status(item: Number) -> dict[str, Any]:
    value, name = inventory.REGISTRATION[item.registration]
    # SDK 6 validates these sets: `label` is the code, `name` the words.
    code = (
        "REGISTERED" if item.registration == "REGISTERED" else f"REGISTRATION_{item.registration}"
    )
    if item.registration == "CUST_ACTION_REQUIRED":
        code = item.registration
    return {"value": value, "label": code, "name": name, "description": name}


def owned(item: Number) -> dict[str, Any]:
    return {
        "dedicated_number": item.number,
        "country": item.country,
        "_country_name": item.country_name,
        "price": _price(item.price_monthly_micros),
        "type": ",".join(item.capabilities),
        "number_type": item.number_type,
        "status": _status(item),
    }


def available(item: Number, currency: str) -> dict[str, Any]:
    price = _price(item.price_monthly_micros)
    return {
        "country": item.country,
        "country_name": item.country_name,
        "dedicated_number": item.number,
        "currency": currency,
        "price": price,
        "price_setup": "0.00",
        "price_monthly": price,
        "price_total": price,
        "number_type": item.number_type,
        "type": ",".join(item.capabilities),
    }


@router.get("/numbers", summary="Get all Dedicated Numbers")
async def list_numbers(
    request: Request,
    params: ListParams,
    principal: CurrentPrincipal,
    conn: Conn,
    runtime: RuntimeDep,
) -> JSONResponse:
    page = await inventory.list_numbers(conn, principal, params)
    data = render_page(page, request, lambda row: owned(inventory.number_from_row(row)))
    data["_currency"] = runtime.prices.currency_info(principal.account.currency)
    return envelope(data, "Here are your data.")


def _search_terms(request: Request) -> tuple[str | None, int | None]:
    """SDK 5 sends `?search=88&search_type=1`; the spec's template is
    `?{search}=1&{search_type}=2`: the pattern is the key valued 1, the type the key valued 2."""
    query = request.query_params
    if "search" in query or "search_type" in query:
        text, kind = query.get("search"), query.get("search_type")
    else:
        spare = [(key, value) for key, value in query.multi_items() if key not in _LIST_KEYS]
        text = next((key for key, value in spare if value == "1"), None)
        kind = next((key for key, value in spare if value == "2"), None)
    if kind is None or kind == "":
        return text, None
    try:
        return text, int(kind)
    except ValueError:
        raise InvalidInput("search_type must be 0, 1 or 2.", field="search_type") from None


@router.get("/numbers/search/{country}", summary="Search Dedicated Numbers by Country")
async def search_numbers(
    request: Request,
    country: Annotated[str, Path(max_length=8)],
    params: ListParams,
    principal: CurrentPrincipal,
    conn: Conn,
    runtime: RuntimeDep,
) -> JSONResponse:
    text, kind = _search_terms(request)
    page = await inventory.search(conn, country, text, kind, params)
    currency = principal.account.currency
    data = render_page(
        page, request, lambda row: available(inventory.number_from_row(row), currency)
    )
    data["_currency"] = runtime.prices.currency_info(currency)
    return envelope(data, "Here are some results.")


@router.post("/numbers/buy/{dedicated_number}", summary="Buy dedicated number")
async def buy_number(
    dedicated_number: Annotated[str, Path(max_length=64)],
    principal: CurrentPrincipal,
    conn: Conn,
    runtime: RuntimeDep,
    body: BuyIn | None = None,
) -> JSONResponse:
    item = await inventory.buy(
        conn, principal, dedicated_number, capability=body.type if body else None
    )
    price = _price(item.price_monthly_micros)
    data = {
        "dedicated_number": item.number,
        "country": item.country,
        "price_total": price,
        "_price_monthly": price,
        "_price_setup": "0.00",
        "_currency": runtime.prices.currency_info(principal.account.currency),
    }
    return envelope(data, "Here is your new number.")


@router.post(
    "/numbers/registrations/number-types/{number_type}/country/{country_code}",
    summary="Register numbers (10DLC, toll-free) for a country",
)
async def register_numbers(
    number_type: Annotated[str, Path(max_length=32)],
    country_code: Annotated[str, Path(max_length=8)],
    principal: CurrentPrincipal,
    conn: Conn,
    body: RegistrationIn | None = None,
) -> JSONResponse:
    details = (body or RegistrationIn()).model_dump()
    marked = await inventory.register(conn, principal, number_type, country_code, details)
    data = {
        "number_type": number_type,
        "country_code": country_code.upper(),
        "status": "REGISTRATION_SUBMITTED",
        "numbers": marked,
    }
    return envelope(data, "Your registration has been submitted.")
