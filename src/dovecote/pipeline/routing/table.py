"""The routing table in memory, and the cache that keeps a worker's copy current.

A worker reads the table once and then only the one-row version counter, at most every
`refresh` seconds: a change made by the CLI or the admin API reaches every worker within
that interval, with no restart, and routing costs a dictionary walk per message.

The table holds the route prices too, so pricing a send by its route
(`routing.pricing`) reads the process's shared cache (`shared(engine)`, inside the
send's own transaction) and costs no query while the table is fresh — none at all in
the common case of no routes and no route prices.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from dovecote.core.phone import InvalidRecipient, parse_recipient
from dovecote.pipeline.routing import store
from dovecote.pipeline.routing.store import Connector, Route
from dovecote.pipeline.transports.base import Job


@dataclass(frozen=True, slots=True)
class RoutingTable:
    version: int = 0
    routes: tuple[Route, ...] = ()  # highest priority first, then oldest first
    connectors: dict[str, Connector] = field(default_factory=dict)
    # (connector, channel, currency) → ((prefix, price in micros), …): the route prices.
    prices: dict[tuple[str, str, str], tuple[tuple[str, int], ...]] = field(default_factory=dict)

    def match(self, job: Job) -> Route | None:
        """The first route (by priority) whose every condition the message meets."""
        return self.match_fields(job.channel, job.recipient, job.sender, job.account_id)

    def match_fields(
        self, channel: str, recipient: str, sender: str, account_id: int
    ) -> Route | None:
        country: str | None = None
        digits = recipient.lstrip("+")
        for route in self.routes:
            if route.channel is not None and route.channel != channel:
                continue
            if route.prefix and not digits.startswith(route.prefix.lstrip("+")):
                continue
            if route.sender is not None and route.sender != sender:
                continue
            if route.account_id is not None and route.account_id != account_id:
                continue
            if route.country is not None:
                if country is None:
                    country = _country(recipient)
                if country != route.country:
                    continue
            return route
        return None

    def failover(self, route: Route) -> list[Connector]:
        """The route's enabled connectors, in failover order."""
        return [
            self.connectors[name]
            for name in route.connectors
            if name in self.connectors and self.connectors[name].enabled
        ]


def _country(recipient: str) -> str:
    try:
        return parse_recipient(recipient, None).country
    except InvalidRecipient:
        return ""


async def load(engine: AsyncEngine) -> RoutingTable:
    async with engine.connect() as conn:
        return await read(conn)


async def read(conn: AsyncConnection) -> RoutingTable:
    version = await store.version(conn)
    routes: Sequence[Route] = await store.list_routes(conn)
    connectors = await store.list_connectors(conn)
    prices: dict[tuple[str, str, str], list[tuple[str, int]]] = {}
    for price in await store.list_prices(conn):
        key = (price.connector, price.channel, price.currency)
        prices.setdefault(key, []).append((price.prefix, price.price_micros))
    return RoutingTable(
        version,
        tuple(routes),
        {c.name: c for c in connectors},
        {key: tuple(found) for key, found in prices.items()},
    )


class Cache:
    def __init__(self, engine: AsyncEngine, refresh: float = 1.0) -> None:
        # Weak: `_shared` keys its caches by engine weakly, and a cache holding its key
        # strongly kept every engine of the process alive (a test suite's thousands, with
        # their statement caches) and the cache with it.
        self._engine = weakref.ref(engine)
        self.refresh = refresh
        self.table: RoutingTable | None = None
        self._checked = 0.0
        self._writes = store.local_writes(engine.sync_engine)

    @property
    def engine(self) -> AsyncEngine:
        engine = self._engine()
        if engine is None:  # its owner dropped the engine: nobody can be asking
            raise RuntimeError("the engine of this routing table cache is gone")
        return engine

    async def get(self, conn: AsyncConnection | None = None) -> RoutingTable:
        """The table, checking its version at most every `refresh` seconds (at once after
        a routing write of this process). `conn`: read through the caller's connection
        (a send's transaction: SQLite's engine has only the one connection)."""
        now = time.monotonic()
        writes = store.local_writes(self.engine.sync_engine)
        fresh = now - self._checked < self.refresh and writes == self._writes
        if self.table is not None and fresh:
            return self.table
        self._checked, self._writes = now, writes
        if conn is None:
            async with self.engine.connect() as own:
                return await self._current(own)
        return await self._current(conn)

    async def _current(self, conn: AsyncConnection) -> RoutingTable:
        if self.table is None or await store.version(conn) != self.table.version:
            self.table = await read(conn)
        return self.table


_shared: weakref.WeakKeyDictionary[AsyncEngine, Cache] = weakref.WeakKeyDictionary()


def shared(engine: AsyncEngine, refresh: float | None = None) -> Cache:
    """The process's one cache of the table on `engine` (`refresh` set by the app factory
    from `routing_refresh_seconds`; 1 second until then)."""
    cache = _shared.get(engine)
    if cache is None:
        cache = _shared[engine] = Cache(engine)
    if refresh is not None:
        cache.refresh = refresh
    return cache
