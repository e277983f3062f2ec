"""Remembers which of the app's routes serves each fixed path, so FastAPI's linear scan runs
once per path instead of once per request.

FastAPI tries every route in registration order until one matches in full; with ~70
included routers and ~300 operations that scan was 0.65 ms of CPU for `POST /v3/sms/send`
and 1.2 ms for `/v3/post/letters/history` — a sixth of a whole single send. The first
request for a method and path pays for one more scan to learn which top-level route won;
later ones go straight to it, through FastAPI's own router code run over a one-route list,
so everything after the choice (scope updates, dependencies, telemetry) is FastAPI's.

Only paths served by a route without path parameters are remembered (their number is
bounded by the routes themselves, whatever paths callers invent); anything else — path
parameters, 404s, 405s, slash redirects — takes the full scan as before. Choosing a
remembered route is exactly what the scan does: the routes before it did not match that
method and path in full, and matching depends on nothing else (no route is host-based,
checked when the index is built).
"""

from __future__ import annotations

import copy

from fastapi.routing import APIRouter
from starlette.routing import Host, Match
from starlette.types import ASGIApp, Receive, Scope, Send

Key = tuple[str, str, str]


class RouteIndex:
    """ASGI app placed as the router's own entry point (`router.middleware_stack`)."""

    def __init__(self, router: APIRouter, inner: ASGIApp) -> None:
        self._router = router
        self._inner = inner
        self._chosen: dict[Key, APIRouter] = {}
        self._count = -1
        self._usable = False

    def __len__(self) -> int:
        """How many method-and-path pairs are remembered."""
        return len(self._chosen)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self._forget_if_changed()
        if scope["type"] != "http" or not self._usable:
            await self._inner(scope, receive, send)
            return
        key = (scope["method"], scope.get("root_path", ""), scope["path"])
        chosen = self._chosen.get(key)
        if chosen is not None:
            # Pre-set, so `url_for` inside the request still sees every route.
            scope.setdefault("router", self._router)
            await chosen.app(scope, receive, send)
            return
        probe = dict(scope)
        await self._inner(scope, receive, send)
        if scope.get("path_params") == {} and "endpoint" in scope:
            self._learn(key, probe)

    def _learn(self, key: Key, probe: Scope) -> None:
        probe.pop("fastapi", None)
        for route in self._router.routes:
            match, _ = route.matches(probe)
            if match == Match.FULL:
                alone = copy.copy(self._router)
                alone.routes = [route]
                self._chosen[key] = alone
                return

    def _forget_if_changed(self) -> None:
        """Routes are only ever added (include_router, add_api_route): a new count means
        what was learnt may be shadowed now."""
        routes = self._router.routes
        if len(routes) != self._count:
            self._chosen.clear()
            self._count = len(routes)
            # A host-based route matches on a header, not the path: the index would be wrong.
            self._usable = not any(isinstance(route, Host) for route in routes)


def install(router: APIRouter) -> None:
    """Put the index in front of the router's scan (after every router is included)."""
    router.middleware_stack = RouteIndex(router, router.middleware_stack)
