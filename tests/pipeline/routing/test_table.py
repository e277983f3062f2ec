"""Which route a message takes: priority order, and every condition of a route at once."""

from __future__ import annotations

import gc
import weakref

from dovecote.pipeline.routing import table as routing_table
from dovecote.pipeline.routing.store import Connector, Route
from dovecote.pipeline.routing.table import RoutingTable
from dovecote.pipeline.transports.base import Job
from dovecote.storage.db import create_engine


def route(route_id: int, *names: str, priority: int = 0, **match: object) -> Route:
    return Route(
        id=route_id,
        channel=match.get("channel"),  # type: ignore[arg-type]
        prefix=str(match.get("prefix", "")),
        country=match.get("country"),  # type: ignore[arg-type]
        sender=match.get("sender"),  # type: ignore[arg-type]
        account_id=match.get("account_id"),  # type: ignore[arg-type]
        priority=priority,
        connectors=names,
    )


def job(recipient: str, *, channel: str = "sms", sender: str = "", account_id: int = 1) -> Job:
    return Job("m1", account_id, 1, channel, sender, recipient, None, "hi", 0, None, 0, None, None)


def table(*routes: Route, disabled: tuple[str, ...] = ()) -> RoutingTable:
    names = {name for r in routes for name in r.connectors}
    connectors = {
        name: Connector(n, name, "sandbox", {}, 0.0, name not in disabled)
        for n, name in enumerate(sorted(names))
    }
    ordered = sorted(routes, key=lambda r: (-r.priority, r.id))
    return RoutingTable(1, tuple(ordered), connectors)


def test_the_highest_priority_route_whose_every_condition_holds_wins() -> None:
    routing = table(
        route(1, "any"),
        route(2, "au", priority=5, country="AU"),
        route(3, "brand", priority=9, country="AU", sender="Brand"),
        route(4, "vip", priority=7, account_id=42, prefix="+614"),
        route(5, "voice", priority=20, channel="voice"),
    )

    def chosen(j: Job) -> int | None:
        found = routing.match(j)
        return None if found is None else found.id

    assert chosen(job("+61411111111")) == 2
    assert chosen(job("+61411111111", sender="Brand")) == 3
    assert chosen(job("+61411111111", account_id=42)) == 4
    assert chosen(job("+61211111111", account_id=42)) == 2  # prefix +614 does not hold
    assert chosen(job("+447911123456", sender="Brand")) == 1
    assert chosen(job("+61411111111", channel="voice")) == 5
    assert chosen(job("not a number")) == 1  # no country: only country-free routes


def test_no_route_matches_when_none_is_catch_all() -> None:
    routing = table(route(1, "au", prefix="+61"))
    assert routing.match(job("+12025550143")) is None


def test_failover_lists_the_enabled_connectors_in_order() -> None:
    routing = table(route(1, "a", "b", "c"), disabled=("b",))
    found = routing.match(job("+61411111111"))
    assert found is not None
    assert [c.name for c in routing.failover(found)] == ["a", "c"]


async def test_the_shared_cache_lets_its_engine_go_once_the_engine_is_disposed() -> None:
    engine = create_engine("sqlite+aiosqlite:///:memory:")
    cache = routing_table.shared(engine)
    assert routing_table.shared(engine) is cache
    await engine.dispose()
    gone = weakref.ref(engine)
    del engine, cache
    gc.collect()

    assert gone() is None  # the cache (a value keyed weakly by it) did not hold it
