"""The price follows the route: a message a route sends through a connector with a price
for its destination costs that price, not the price book's.

Priced at acceptance, by the route's first enabled connector (the one expected to take
the message): a failover to another connector later does not change what was charged,
so money is never taken twice or refunded behind the customer's back. Applies to SMS
(per part) and MMS (per message); other channels keep the price book's prices.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncConnection

from dovecote.pipeline.pricing import route_unit_price
from dovecote.pipeline.routing import table

CHANNELS = frozenset({"sms", "mms"})


class Priced(Protocol):
    channel: str
    recipient: str
    sender: str
    parts: int
    price_micros: int
    is_test: bool

    @property
    def ok(self) -> bool: ...


async def reprice(
    conn: AsyncConnection, account_id: int, currency: str, items: Sequence[Priced]
) -> None:
    """Replace the price of each item a route prices. The prices come with the cached
    routing table: no query while it is fresh, whether route prices exist or not."""
    routing = await table.shared(conn.engine).get(conn)
    if not routing.prices:
        return
    currency = currency.upper()
    for item in items:
        if not item.ok or item.is_test or item.channel not in CHANNELS:
            continue
        route = routing.match_fields(item.channel, item.recipient, item.sender, account_id)
        chain = [] if route is None else routing.failover(route)
        if not chain:
            continue
        prices = routing.prices.get((chain[0].name, item.channel, currency), ())
        unit = route_unit_price(prices, item.recipient)
        if unit is not None:
            item.price_micros = unit * max(1, item.parts)
