"""Direct mail: a flyer (A5 or DL, one or two sides) to every letterbox of chosen areas.

Areas are locations from a small packaged sample table (`data/post_locations.json`:
postal areas of a few countries; a real deployment would load a full gazetteer). A
campaign costs `post-direct-mail` per piece to the area's country, debited in the
transaction that records it; nothing is handed to a transport (no printer is connected:
the campaign stays `Scheduled`, or `Queued` when due now).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from dovecote.billing import ledger
from dovecote.core.errors import InvalidInput
from dovecote.core.models import Principal
from dovecote.core.money import to_micros
from dovecote.pipeline import queue
from dovecote.pipeline.pricing import PriceBook
from dovecote.storage.listing import Fields, ListQuery, Page, paginate
from dovecote.storage.tables import post_direct_mail_campaigns as table

PRICE_CHANNEL = "post-direct-mail"
SIZES = ("A5", "DL")
MAX_QUANTITY = 1_000_000
FIELDS = Fields(
    columns={"campaign_id": table.c.id, "name": table.c.name, "status": table.c.status},
    text=frozenset({"name"}),
)


@cache
def locations() -> tuple[dict[str, Any], ...]:
    text = (resources.files("dovecote") / "data" / "post_locations.json").read_text("utf-8")
    return tuple(json.loads(text))


def search(country: str, query: str) -> list[dict[str, Any]]:
    """Locations of `country` whose postal code starts with, or place name contains, `query`."""
    wanted = query.strip().lower()
    return [
        location
        for location in locations()
        if location["country_code"] == country.upper()
        and (
            location["postal_code"].lower().startswith(wanted)
            or wanted in location["place_name"].lower()
        )
    ]


@dataclass(frozen=True, slots=True)
class Area:
    location: Mapping[str, Any]
    quantity: int
    price_micros: int


def price_areas(areas: Sequence[tuple[Any, Any]], prices: PriceBook, currency: str) -> list[Area]:
    if not areas:
        raise InvalidInput("areas: at least one area is required.", field="areas")
    by_id = {location["location_id"]: location for location in locations()}
    priced = []
    for index, (location_id, quantity) in enumerate(areas):
        location = by_id.get(location_id)
        if location is None:
            raise InvalidInput(f"areas[{index}]: no location {location_id}.", field="areas")
        if not isinstance(quantity, int) or not 1 <= quantity <= MAX_QUANTITY:
            raise InvalidInput(
                f"areas[{index}]: quantity must be 1 to {MAX_QUANTITY}.", field="areas"
            )
        each = to_micros(prices.unit_price(PRICE_CHANNEL, currency, location["country_code"]))
        priced.append(Area(location, quantity, each * quantity))
    return priced


async def create(
    conn: AsyncConnection,
    principal: Principal,
    *,
    name: str,
    size: str,
    file_keys: list[str],
    areas: Sequence[Area],
    schedule: int | None,
    custom_string: str | None,
    source: str | None,
    now: int,
) -> dict[str, Any]:
    """Debit and record the campaign in one transaction; short credit is a 400."""
    total = sum(area.price_micros for area in areas)
    if not await queue.debit(
        conn, principal.account.id, total, kind=ledger.SEND, reference=f"direct mail: {name}"
    ):
        raise InvalidInput(
            "Not enough credit for this campaign.", code="INSUFFICIENT_CREDIT", field="areas"
        )
    values = {
        "account_id": principal.account.id,
        "user_id": principal.user.id,
        "name": name,
        "size": size,
        "file_keys": file_keys,
        "areas": [
            {
                "location_id": a.location["location_id"],
                "quantity": a.quantity,
                "price_micros": a.price_micros,
            }
            for a in areas
        ],
        "total_quantity": sum(area.quantity for area in areas),
        "price_micros": total,
        "currency": principal.account.currency,
        "schedule": schedule,
        "custom_string": custom_string,
        "source": source,
        "status": "Scheduled" if schedule else "Queued",
        "created_at": now,
    }
    result = await conn.execute(table.insert().values(**values).returning(table.c.id))
    return {"id": result.scalar_one(), **values}


async def listing(conn: AsyncConnection, principal: Principal, params: ListQuery) -> Page:
    query = sa.select(table).where(table.c.account_id == principal.account.id)
    return await paginate(conn, query, params, FIELDS, [table.c.id])
