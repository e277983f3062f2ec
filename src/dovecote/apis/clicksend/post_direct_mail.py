"""`/v3/post/direct-mail/*`: campaigns (list, price, send) and the location search."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from dovecote.accounts import service as accounts
from dovecote.apis.clicksend.envelope import envelope
from dovecote.apis.clicksend.listing import ListParams, render_page
from dovecote.apis.deps import Conn, CurrentPrincipal, DetachedPrincipal, RuntimeDep
from dovecote.channels.post import direct_mail, document
from dovecote.core.errors import InvalidInput
from dovecote.core.models import Principal
from dovecote.core.money import from_micros
from dovecote.pipeline.compose import parse_schedule
from dovecote.runtime import Runtime
from dovecote.storage.listing import Page

router = APIRouter(tags=["Post Direct Mail"])
FIELD = "file_urls"


class AreaIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    location_id: int
    quantity: int


class CampaignIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: str = Field(min_length=1, max_length=200)
    size: str = Field(max_length=8)
    file_urls: list[str] = Field(default_factory=list, max_length=10)
    areas: list[AreaIn] = Field(default_factory=list, max_length=1000)
    schedule: int | float | str | None = None
    custom_string: str | None = Field(default=None, max_length=4096)
    source: str | None = Field(default=None, max_length=100)


def _area(area: Mapping[str, Any], campaign_id: int | None, status: str) -> dict[str, Any]:
    location = next(
        (place for place in direct_mail.locations() if place["location_id"] == area["location_id"]),
        {},
    )
    return {
        "campaign_id": campaign_id,
        "location_id": area["location_id"],
        "country_code": location.get("country_code"),
        "place_name": location.get("place_name"),
        "postal_code": location.get("postal_code"),
        "quantity": area["quantity"],
        "price": f"{from_micros(area['price_micros']):.2f}",
        "status": status,
    }


def _campaign(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "campaign_id": row["id"],
        "user_id": row["user_id"],
        "name": row["name"],
        "size": row["size"],
        "schedule": row["schedule"],
        "custom_string": row["custom_string"],
        "source": row["source"],
        "status": row["status"],
        "message_id": None,
        "date_added": row["created_at"],
        "_total_quantity": row["total_quantity"],
        "_total_price": f"{from_micros(row['price_micros']):.2f}",
        "_areas": [_area(area, row["id"], row["status"]) for area in row["areas"]],
    }


async def _accept(body: CampaignIn, principal: Principal, runtime: Runtime, *, send: bool) -> Any:
    accounts.require(principal, "access_post")
    now = time.time()
    size = body.size.strip().upper()
    if size not in direct_mail.SIZES:
        raise InvalidInput("size: A5 or DL.", field="size")
    schedule = parse_schedule(body.schedule, now)
    if schedule is False:
        raise InvalidInput("schedule: not a valid unix time.", code="INVALID_SCHEDULE")
    if not 1 <= len(body.file_urls) <= 2:
        raise document.refuse(FIELD, "give one or two PDF URLs (the front, then the back).")
    sides = [
        await document.load(
            url, field=FIELD, kind=size, store=runtime.files, settings=runtime.settings
        )
        for url in body.file_urls
    ]
    if sum(side.pages for side in sides) > 2:
        raise document.refuse(FIELD, "a flyer has two sides: at most two pages in all.")
    currency = principal.account.currency
    areas = direct_mail.price_areas(
        [(a.location_id, a.quantity) for a in body.areas], runtime.prices, currency
    )
    total = sum(area.price_micros for area in areas)
    info = runtime.prices.currency_info(currency)
    if not send:
        priced = [
            _area(
                {**a.location, "quantity": a.quantity, "price_micros": a.price_micros},
                None,
                "Queued",
            )
            for a in areas
        ]
        data = {"name": body.name, "size": size, "_areas": priced, "status": "Queued"}
        return {
            "currency": info,
            "data": data,
            "total_price": float(from_micros(total)),
            "total_quantity": sum(a.quantity for a in areas),
        }
    for side in sides:
        await runtime.files.put(side.key, side.data, "application/pdf")
    async with runtime.engine.begin() as conn:
        row = await direct_mail.create(
            conn,
            principal,
            name=body.name,
            size=size,
            file_keys=[side.key for side in sides],
            areas=areas,
            schedule=schedule or None,
            custom_string=body.custom_string,
            source=body.source,
            now=int(now),
        )
    return {
        "currency": info,
        "data": _campaign(row),
        "total_price": float(from_micros(total)),
        "total_quantity": row["total_quantity"],
    }


@router.get("/post/direct-mail/campaigns", summary="List Direct Mail Campaigns")
async def list_campaigns(
    request: Request, params: ListParams, principal: CurrentPrincipal, conn: Conn
) -> JSONResponse:
    accounts.require(principal, "access_post")
    page = await direct_mail.listing(conn, principal, params)
    return envelope(render_page(page, request, _campaign), "Here are your data.")


@router.post("/post/direct-mail/campaigns/price", summary="Calculate Direct Mail Campaign Price")
async def price_campaign(
    body: CampaignIn, principal: DetachedPrincipal, runtime: RuntimeDep
) -> JSONResponse:
    return envelope(await _accept(body, principal, runtime, send=False), "Here are some results.")


@router.post("/post/direct-mail/campaigns/send", summary="Create New Campaign")
async def send_campaign(
    body: CampaignIn, principal: DetachedPrincipal, runtime: RuntimeDep
) -> JSONResponse:
    data = await _accept(body, principal, runtime, send=True)
    return envelope(data, "New direct mail campaign created.")


@router.get("/post/direct-mail/locations/search/{country}/", summary="Search Locations")
async def search_locations(
    request: Request,
    country: Annotated[str, Path(min_length=2, max_length=2)],
    principal: CurrentPrincipal,
    q: Annotated[str, Query(min_length=1, max_length=100)],
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    limit: Annotated[int, Query(ge=1, le=100)] = 15,
) -> JSONResponse:
    accounts.require(principal, "access_post")
    found = direct_mail.search(country, q)
    shown = found[(page - 1) * limit : page * limit]
    rows = [
        {
            "accuracy": 6,
            "admin_code2": "",
            "admin_code3": "",
            "admin_name2": "",
            "admin_name3": "",
            **location,
        }
        for location in shown
    ]
    result = Page(rows=rows, total=len(found), page=page, limit=limit)
    return envelope(render_page(result, request, dict), "Here's your result.")
