"""Countries: the list every account picks from, and the ones it chose for global sending.

A country's id is its ISO 3166-1 numeric code: stable, and the same on every server.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

import pycountry
from sqlalchemy.ext.asyncio import AsyncConnection

from dovecote.accounts import lifecycle_store as store
from dovecote.core.errors import InvalidInput

MAX_CHOSEN = 300


@cache
def country_list() -> tuple[dict[str, Any], ...]:
    countries = sorted(pycountry.countries, key=lambda c: c.name)
    # No region data ships with pycountry: `region` stays null rather than guessed.
    return tuple(
        {"id": int(c.numeric), "name": c.name, "code": c.alpha_2, "region": None} for c in countries
    )


@cache
def _by_id() -> dict[int, dict[str, Any]]:
    return {country["id"]: country for country in country_list()}


async def chosen(conn: AsyncConnection, account_id: int) -> list[dict[str, Any]]:
    known = _by_id()
    return [
        {**known[row["country_id"]], "agreed_at": row["agreed_at"]}
        for row in await store.chosen_countries(conn, account_id)
        if row["country_id"] in known
    ]


async def choose(
    conn: AsyncConnection, account_id: int, country_ids: Sequence[int], *, now: int
) -> list[dict[str, Any]]:
    """Make the account's choice exactly `country_ids` (an id left out is unselected)."""
    if len(country_ids) > MAX_CHOSEN:
        raise InvalidInput("Too many countries.", field="country_list_ids")
    unknown = sorted(set(country_ids) - set(_by_id()))
    if unknown:
        raise InvalidInput(
            f"Unknown country ids: {', '.join(map(str, unknown[:10]))}.", field="country_list_ids"
        )
    await store.choose_countries(conn, account_id, set(country_ids), now)
    return await chosen(conn, account_id)


async def agree(conn: AsyncConnection, account_id: int, *, now: int) -> list[dict[str, Any]]:
    """Agree to the rules of every chosen country not yet agreed to."""
    await store.agree_countries(conn, account_id, now)
    return await chosen(conn, account_id)
