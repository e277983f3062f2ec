"""The routing table in memory, and the cache that keeps a worker's copy current.

A worker reads the table once and then only the one-row version counter, at most every
`refresh` seconds: a change made by the CLI or the admin API reaches every worker within
that interval, with no restart, and routing costs a dictionary walk per message.
"""

from __future__ import annotations

import time
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
    return RoutingTable(version, tuple(routes), {c.name: c for c in connectors})


class Cache:
    def __init__(self, engine: AsyncEngine, refresh: float = 1.0) -> None:
        self.engine = engine
        self.refresh = refresh
        self.table: RoutingTable | None = None
        self._checked = 0.0

    async def get(self) -> RoutingTable:
        now = time.monotonic()
        if self.table is not None and now - self._checked < self.refresh:
            return self.table
        self._checked = now
        if self.table is None:
            self.table = await load(self.engine)
            return self.table
        async with self.engine.connect() as conn:
            current = await store.version(conn)
        if current != self.table.version:
            self.table = await load(self.engine)
        return self.table
