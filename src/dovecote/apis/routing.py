"""`/dovecote/connectors`, `/dovecote/routes` (Dovecote-only, the owner only): manage the
ways out and the routes to them. A change reaches the workers within
`DOVECOTE_ROUTING_REFRESH_SECONDS`, no restart. Connector settings are answered with
their secrets masked; a password goes in, never comes out.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from dovecote.accounts.service import parse_money
from dovecote.apis.clicksend.envelope import envelope
from dovecote.apis.deps import Conn, CurrentPrincipal, RuntimeDep, is_owner
from dovecote.core.errors import Forbidden
from dovecote.core.models import Principal
from dovecote.core.money import from_micros
from dovecote.pipeline.routing import health, store
from dovecote.pipeline.routing.health import Health
from dovecote.settings import Settings

router = APIRouter(prefix="/dovecote", tags=["Routing (Dovecote)"])

ConnectorName = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$")]
RouteId = Annotated[int, Path(ge=1, le=2**31 - 1)]


class NewConnector(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=64)
    transport: str = Field(min_length=1, max_length=32)
    settings: dict[str, Any] = Field(default_factory=dict)
    throughput: float = Field(0.0, ge=0, le=1_000_000)
    enabled: bool = True


class ConnectorChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    settings: dict[str, Any] | None = None
    throughput: float | None = Field(None, ge=0, le=1_000_000)
    enabled: bool | None = None


class NewRoute(BaseModel):
    model_config = ConfigDict(extra="forbid")

    connectors: list[str] = Field(min_length=1, max_length=16)
    channel: str | None = Field(None, max_length=16)
    prefix: str = Field("", max_length=32)
    country: str | None = Field(None, max_length=2)
    sender: str | None = Field(None, max_length=320)
    account_id: int | None = Field(None, ge=1, le=2**31 - 1)
    priority: int = Field(0, ge=-1_000_000, le=1_000_000)


class NewPrice(BaseModel):
    model_config = ConfigDict(extra="forbid")

    channel: str = Field(max_length=16)
    prefix: str = Field("", max_length=32)
    price: str = Field(max_length=20, description="Per unit (an SMS part, an MMS).")
    currency: str = Field("USD", min_length=3, max_length=3)


def require_owner(principal: Principal, settings: Settings) -> None:
    """Routing is the operator's: only the owner account's main user manages it."""
    if not is_owner(principal, settings):
        raise Forbidden("Only the Dovecote owner manages connectors and routes.")


def _connector(
    connector: store.Connector, accepted: int, health: Health | None = None
) -> dict[str, Any]:
    return {
        "name": connector.name,
        "transport": connector.transport,
        "settings": store.public_settings(connector.settings),
        "throughput": connector.throughput,
        "enabled": connector.enabled,
        "accepted": accepted,
        # As every worker sees it (`connector_health`); a new connector is up.
        "health": (health or Health()).public(),
    }


def _route(route: store.Route) -> dict[str, Any]:
    return {
        "route_id": route.id,
        "channel": route.channel,
        "prefix": route.prefix,
        "country": route.country,
        "sender": route.sender,
        "account_id": route.account_id,
        "priority": route.priority,
        "connectors": list(route.connectors),
    }


@router.get("/connectors", summary="List connectors")
async def list_connectors(
    principal: CurrentPrincipal, conn: Conn, runtime: RuntimeDep
) -> JSONResponse:
    require_owner(principal, runtime.settings)
    counts = await store.accepted_counts(conn)
    healths = await health.read(conn)
    data = [
        _connector(c, counts.get(c.name, 0), healths.get(c.name))
        for c in await store.list_connectors(conn)
    ]
    return envelope(data, "Here are your connectors.")


@router.post("/connectors", summary="Add a connector")
async def add_connector(
    body: NewConnector, principal: CurrentPrincipal, conn: Conn, runtime: RuntimeDep
) -> JSONResponse:
    require_owner(principal, runtime.settings)
    connector = await store.add_connector(
        conn,
        name=body.name,
        transport=body.transport,
        settings=body.settings,
        throughput=body.throughput,
        enabled=body.enabled,
        seal=store.sealer(runtime.settings),
    )
    return envelope(_connector(connector, 0), "The connector has been added.")


@router.get("/connectors/{name}", summary="Show a connector")
async def show_connector(
    name: ConnectorName, principal: CurrentPrincipal, conn: Conn, runtime: RuntimeDep
) -> JSONResponse:
    require_owner(principal, runtime.settings)
    connector = await store.get_connector(conn, name)
    counts = await store.accepted_counts(conn)
    shown = _connector(connector, counts.get(name, 0), (await health.read(conn)).get(name))
    return envelope(shown, "Here is your connector.")


@router.patch("/connectors/{name}", summary="Change a connector")
async def change_connector(
    name: ConnectorName,
    body: ConnectorChange,
    principal: CurrentPrincipal,
    conn: Conn,
    runtime: RuntimeDep,
) -> JSONResponse:
    require_owner(principal, runtime.settings)
    connector = await store.set_connector(
        conn,
        name,
        settings=body.settings,
        throughput=body.throughput,
        enabled=body.enabled,
        seal=store.sealer(runtime.settings),
    )
    counts = await store.accepted_counts(conn)
    return envelope(_connector(connector, counts.get(name, 0)), "The connector has been changed.")


@router.delete("/connectors/{name}", summary="Remove a connector no route uses")
async def remove_connector(
    name: ConnectorName, principal: CurrentPrincipal, conn: Conn, runtime: RuntimeDep
) -> JSONResponse:
    require_owner(principal, runtime.settings)
    await store.remove_connector(conn, name)
    return envelope(None, "The connector has been removed.")


@router.post("/connectors/{name}/prices", summary="Set a price through this connector")
async def set_price(
    name: ConnectorName,
    body: NewPrice,
    principal: CurrentPrincipal,
    conn: Conn,
    runtime: RuntimeDep,
) -> JSONResponse:
    require_owner(principal, runtime.settings)
    micros = parse_money(body.price, "price")
    await store.set_price(
        conn,
        connector=name,
        channel=body.channel,
        prefix=body.prefix,
        price_micros=micros,
        currency=body.currency,
    )
    prices = [
        {
            "channel": p.channel,
            "prefix": p.prefix,
            "currency": p.currency,
            "price": float(from_micros(p.price_micros)),
        }
        for p in await store.list_prices(conn)
        if p.connector == name
    ]
    return envelope(prices, "The price has been set.")


@router.get("/routes", summary="List routes, in the order they are tried")
async def list_routes(principal: CurrentPrincipal, conn: Conn, runtime: RuntimeDep) -> JSONResponse:
    require_owner(principal, runtime.settings)
    return envelope([_route(r) for r in await store.list_routes(conn)], "Here are your routes.")


@router.post("/routes", summary="Add a route")
async def add_route(
    body: NewRoute, principal: CurrentPrincipal, conn: Conn, runtime: RuntimeDep
) -> JSONResponse:
    require_owner(principal, runtime.settings)
    route = await store.add_route(
        conn,
        connector_names=body.connectors,
        channel=body.channel,
        prefix=body.prefix,
        country=body.country,
        sender=body.sender,
        account_id=body.account_id,
        priority=body.priority,
    )
    return envelope(_route(route), "The route has been added.")


@router.delete("/routes/{route_id}", summary="Remove a route")
async def remove_route(
    route_id: RouteId, principal: CurrentPrincipal, conn: Conn, runtime: RuntimeDep
) -> JSONResponse:
    require_owner(principal, runtime.settings)
    await store.remove_route(conn, route_id)
    return envelope(None, "The route has been removed.")
