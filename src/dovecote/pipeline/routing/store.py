"""Connectors, routes and route prices in the database; every change bumps the version.

A connector's `settings` hold credentials, so nothing here renders them: callers show a
connector through `public_settings`, which masks every secret-looking key. Those keys'
values are sealed (`core.sealing`) before they are written, so the database, its
backups and SQLAlchemy's echo of the statement parameters only ever hold ciphertext;
`Connector.settings` keeps them sealed and `open_settings` opens them where they are used
(building the transport, checking a receipt token).
"""

from __future__ import annotations

import logging
import re
import time
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncConnection

from dovecote.core.errors import InvalidInput, NotFound
from dovecote.core.sealing import Sealer, SealError
from dovecote.settings import Settings
from dovecote.storage.tables import (
    connector_health,
    connectors,
    message_connectors,
    route_prices,
    routes,
    routing_version,
)

NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
CHANNELS = frozenset({"sms", "mms", "voice", "email", "fax", "letter", "postcard"})
SECRET_KEYS = re.compile(r"pass|secret|key|token", re.IGNORECASE)
# Transports that make sense as a connector (`wiring.TRANSPORTS` names).
TRANSPORTS = ("http", "smpp", "sandbox", "smtp")
# How an http connector learns its messages' fate: polling the upstream's receipts, or
# the upstream pushing them to `/dovecote/providers/{name}/receipts/{receipt_token}`.
RECEIPT_MODES = ("poll", "push")
MIN_TOKEN = 16

log = logging.getLogger("dovecote.routing")


@dataclass(frozen=True, slots=True)
class Connector:
    id: int
    name: str
    transport: str
    settings: Mapping[str, Any]
    throughput: float
    enabled: bool


@dataclass(frozen=True, slots=True)
class Route:
    id: int
    channel: str | None
    prefix: str
    country: str | None
    sender: str | None
    account_id: int | None
    priority: int
    connectors: tuple[str, ...]


def public_settings(settings: Mapping[str, Any]) -> dict[str, Any]:
    """A connector's settings fit to show: passwords, keys and tokens masked."""
    return {
        key: "********" if SECRET_KEYS.search(key) and value else value
        for key, value in settings.items()
    }


# Routing writes this process made, per engine: a cached table on the same engine checks
# the version at its next read instead of waiting out its refresh, so an admin API change
# applies to this process's next send (other processes see it within their refresh).
_writes: weakref.WeakKeyDictionary[Engine, int] = weakref.WeakKeyDictionary()


def local_writes(engine: Engine) -> int:
    return _writes.get(engine, 0)


def sealer(settings: Settings) -> Sealer:
    """The sealer of connector secrets, from `DOVECOTE_SECRET_KEY` (and `_PREVIOUS`)."""
    try:
        return Sealer.from_keys(settings.secret_key, settings.secret_key_previous)
    except SealError as exc:  # an empty key: refuse rather than store secrets in clear
        raise InvalidInput(str(exc), field="settings") from None


def _secret(key: str, value: Any) -> bool:
    return bool(SECRET_KEYS.search(key)) and isinstance(value, str) and bool(value)


def seal_settings(settings: Mapping[str, Any], seal: Sealer) -> dict[str, Any]:
    return {k: seal.seal(v) if _secret(k, v) else v for k, v in settings.items()}


def open_settings(settings: Mapping[str, Any], seal: Sealer) -> dict[str, Any]:
    """A connector's settings with its secrets in clear, for the code that uses them."""
    return {k: seal.open(v) if _secret(k, v) else v for k, v in settings.items()}


async def reseal_all(conn: AsyncConnection, seal: Sealer) -> int:
    """Seal every connector secret with the current key: clear values written before
    sealing existed and values sealed with `DOVECOTE_SECRET_KEY_PREVIOUS`. Run at start-up;
    returns how many connectors changed (0 once done, so running it again is free)."""
    changed = 0
    for connector in await list_connectors(conn):
        values = dict(connector.settings)
        stale = [k for k, v in values.items() if _secret(k, v) and not seal.current(v)]
        if not stale:
            continue
        try:
            for key in stale:
                values[key] = seal.reseal(values[key])
        except SealError as exc:
            # The key changed without DOVECOTE_SECRET_KEY_PREVIOUS: this connector cannot
            # start (its messages fail over), every other one — and the server — can.
            log.warning("connector %r: %s; its secrets are left as stored", connector.name, exc)
            continue
        await conn.execute(
            connectors.update().where(connectors.c.id == connector.id).values(settings=values)
        )
        changed += 1
    if changed:
        await bump(conn)
    return changed


async def bump(conn: AsyncConnection) -> int:
    """Move the routing version on (creating its row the first time)."""
    engine = conn.sync_engine
    _writes[engine] = _writes.get(engine, 0) + 1
    result = await conn.execute(
        routing_version.update()
        .where(routing_version.c.id == 1)
        .values(version=routing_version.c.version + 1)
    )
    if result.rowcount == 0:
        await conn.execute(routing_version.insert().values(id=1, version=1))
    return await version(conn)


async def version(conn: AsyncConnection) -> int:
    query = sa.select(routing_version.c.version).where(routing_version.c.id == 1)
    return int((await conn.execute(query)).scalar() or 0)


def _connector(row: Any) -> Connector:
    return Connector(
        id=int(row.id),
        name=row.name,
        transport=row.transport,
        settings=dict(row.settings or {}),
        throughput=float(row.throughput),
        enabled=bool(row.enabled),
    )


def _route(row: Any) -> Route:
    return Route(
        id=int(row.id),
        channel=row.channel,
        prefix=row.prefix,
        country=row.country,
        sender=row.sender,
        account_id=row.account_id,
        priority=int(row.priority),
        connectors=tuple(row.connectors or ()),
    )


async def list_connectors(conn: AsyncConnection) -> list[Connector]:
    rows = await conn.execute(sa.select(connectors).order_by(connectors.c.name))
    return [_connector(row) for row in rows]


async def get_connector(conn: AsyncConnection, name: str) -> Connector:
    row = (await conn.execute(sa.select(connectors).where(connectors.c.name == name))).first()
    if row is None:
        raise NotFound(f"No connector named {name!r}.")
    return _connector(row)


def _check_connector(
    name: str,
    transport: str,
    settings: Mapping[str, Any],
    throughput: float,
    known: Sequence[str],
    seal: Sealer,
) -> None:
    if not NAME.match(name):
        raise InvalidInput(
            "A connector name is 1-64 characters: a-z, 0-9, '_', '.', '-'.", field="name"
        )
    if transport not in known:
        raise InvalidInput(
            f"Unknown transport {transport!r}; known: {', '.join(sorted(known))}.",
            field="transport",
        )
    if not isinstance(settings, Mapping):
        raise InvalidInput("settings must be a JSON object.", field="settings")
    if transport == "http":
        missing = [key for key in ("url", "username", "password") if not settings.get(key)]
        if missing:
            raise InvalidInput(
                f"An http connector needs {', '.join(missing)} in its settings.", field="settings"
            )
        if not str(settings["url"]).startswith(("http://", "https://")):
            raise InvalidInput("url must be an http(s) URL.", field="settings")
        mode = settings.get("receipts", "poll")
        if mode not in RECEIPT_MODES:
            raise InvalidInput("receipts is 'poll' or 'push'.", field="settings")
        token = settings.get("receipt_token")
        if mode == "push" and not (
            isinstance(token, str) and len(_clear(token, seal)) >= MIN_TOKEN
        ):
            raise InvalidInput(
                f"receipts=push needs a receipt_token of at least {MIN_TOKEN} characters "
                "(it is part of the URL the upstream pushes receipts to).",
                field="settings",
            )
    elif transport in TRANSPORTS:
        # Other transports read the `DOVECOTE_<TRANSPORT>_*` settings (`host` is
        # `smpp_host`): a key that is none of them is a typo, refused now rather than
        # found when the first message fails over.
        unknown = sorted(k for k in settings if f"{transport}_{k}" not in Settings.model_fields)
        if unknown:
            raise InvalidInput(
                f"{transport} has no setting {', '.join(map(repr, unknown))}.", field="settings"
            )
    if not 0 <= throughput <= 1_000_000:
        raise InvalidInput("throughput is messages per second, 0 for no cap.", field="throughput")


def _clear(secret: str, seal: Sealer) -> str:
    """A secret as typed: a stored one merged back (`set_connector`) is opened, so its
    checks are the typed value's, whatever the prefix (`enc:short` is 9 characters)."""
    try:
        return seal.open(secret)
    except SealError:
        raise InvalidInput(
            "The stored receipt_token opens with no configured key "
            "(DOVECOTE_SECRET_KEY changed without DOVECOTE_SECRET_KEY_PREVIOUS): set it again.",
            field="settings",
        ) from None


async def add_connector(
    conn: AsyncConnection,
    *,
    name: str,
    transport: str,
    settings: Mapping[str, Any],
    throughput: float = 0.0,
    enabled: bool = True,
    known: Sequence[str] = TRANSPORTS,
    now: float | None = None,
    seal: Sealer,
) -> Connector:
    _check_connector(name, transport, settings, throughput, known, seal)
    exists = await conn.execute(sa.select(connectors.c.id).where(connectors.c.name == name))
    if exists.first() is not None:
        raise InvalidInput(f"A connector named {name!r} exists already.", field="name")
    moment = int(time.time() if now is None else now)
    await conn.execute(
        connectors.insert().values(
            name=name,
            transport=transport,
            settings=seal_settings(settings, seal),
            throughput=throughput,
            enabled=enabled,
            created_at=moment,
            updated_at=moment,
        )
    )
    await bump(conn)
    return await get_connector(conn, name)


async def set_connector(
    conn: AsyncConnection,
    name: str,
    *,
    settings: Mapping[str, Any] | None = None,
    throughput: float | None = None,
    enabled: bool | None = None,
    known: Sequence[str] = TRANSPORTS,
    now: float | None = None,
    seal: Sealer,
) -> Connector:
    """Change a connector; `settings` are merged key by key (a null value removes one)."""
    current = await get_connector(conn, name)
    merged = dict(current.settings)
    if settings is not None:
        if not isinstance(settings, Mapping):
            raise InvalidInput("settings must be a JSON object.", field="settings")
        for key, value in settings.items():
            if value is None:
                merged.pop(key, None)
            else:
                merged[key] = value
    cap = current.throughput if throughput is None else throughput
    _check_connector(name, current.transport, merged, cap, known, seal)
    await conn.execute(
        connectors.update()
        .where(connectors.c.name == name)
        .values(
            settings=seal_settings(merged, seal),
            throughput=cap,
            enabled=current.enabled if enabled is None else enabled,
            updated_at=int(time.time() if now is None else now),
        )
    )
    await bump(conn)
    return await get_connector(conn, name)


async def remove_connector(conn: AsyncConnection, name: str) -> None:
    """Remove a connector no route names (a route left pointing nowhere would silently
    fall back to the default transport)."""
    await get_connector(conn, name)
    using = [route.id for route in await list_routes(conn) if name in route.connectors]
    if using:
        raise InvalidInput(
            f"Connector {name!r} is used by route(s) {', '.join(map(str, using))}; "
            "remove them first.",
            field="name",
        )
    await conn.execute(connectors.delete().where(connectors.c.name == name))
    await conn.execute(route_prices.delete().where(route_prices.c.connector == name))
    await conn.execute(connector_health.delete().where(connector_health.c.connector == name))
    await bump(conn)


async def list_routes(conn: AsyncConnection) -> list[Route]:
    rows = await conn.execute(sa.select(routes).order_by(routes.c.priority.desc(), routes.c.id))
    return [_route(row) for row in rows]


async def add_route(
    conn: AsyncConnection,
    *,
    connector_names: Sequence[str],
    channel: str | None = None,
    prefix: str = "",
    country: str | None = None,
    sender: str | None = None,
    account_id: int | None = None,
    priority: int = 0,
    now: float | None = None,
) -> Route:
    if channel is not None and channel not in CHANNELS:
        raise InvalidInput(
            f"Unknown channel {channel!r}; one of {', '.join(sorted(CHANNELS))}.", field="channel"
        )
    if prefix and not re.fullmatch(r"\+?[0-9]{1,20}", prefix):
        raise InvalidInput("prefix is the start of an E.164 number, like +614.", field="prefix")
    if country is not None and not re.fullmatch(r"[A-Za-z]{2}", country):
        raise InvalidInput("country is an ISO 3166 alpha-2 code, like AU.", field="country")
    if not connector_names or len(connector_names) > 16:
        raise InvalidInput(
            "A route names 1 to 16 connectors, in failover order.", field="connectors"
        )
    if len(set(connector_names)) != len(connector_names):
        raise InvalidInput("A connector appears twice in the route.", field="connectors")
    for name in connector_names:
        await get_connector(conn, name)  # NotFound names the missing one
    if not -1_000_000 <= priority <= 1_000_000:
        raise InvalidInput("priority must be between -1000000 and 1000000.", field="priority")
    result = await conn.execute(
        routes.insert()
        .values(
            channel=channel,
            prefix=prefix,
            country=None if country is None else country.upper(),
            sender=sender or None,
            account_id=account_id,
            priority=priority,
            connectors=list(connector_names),
            created_at=int(time.time() if now is None else now),
        )
        .returning(routes.c.id)
    )
    route_id = int(result.scalar_one())
    await bump(conn)
    return next(route for route in await list_routes(conn) if route.id == route_id)


async def remove_route(conn: AsyncConnection, route_id: int) -> None:
    result = await conn.execute(routes.delete().where(routes.c.id == route_id))
    if result.rowcount == 0:
        raise NotFound(f"No route {route_id}.")
    await bump(conn)


async def set_price(
    conn: AsyncConnection,
    *,
    connector: str,
    channel: str,
    prefix: str,
    price_micros: int,
    currency: str = "USD",
) -> None:
    """Set what a unit of `channel` (an SMS part, an MMS) to `prefix` costs through
    `connector`, for accounts billed in `currency`."""
    currency = currency.upper()
    if not re.fullmatch(r"[A-Z]{3}", currency):
        raise InvalidInput("currency is a three-letter code, like USD.", field="currency")
    await get_connector(conn, connector)
    if channel not in CHANNELS:
        raise InvalidInput(f"Unknown channel {channel!r}.", field="channel")
    if not re.fullmatch(r"\+?[0-9]{0,20}", prefix):
        raise InvalidInput("prefix is the start of an E.164 number.", field="prefix")
    if not 0 <= price_micros <= 10**12:
        raise InvalidInput("price must be between 0 and 1000000.", field="price")
    key = (
        route_prices.c.connector == connector,
        route_prices.c.channel == channel,
        route_prices.c.prefix == prefix,
        route_prices.c.currency == currency,
    )
    result = await conn.execute(route_prices.update().where(*key).values(price_micros=price_micros))
    if result.rowcount == 0:
        await conn.execute(
            route_prices.insert().values(
                connector=connector,
                channel=channel,
                prefix=prefix,
                currency=currency,
                price_micros=price_micros,
            )
        )
    await bump(conn)


@dataclass(frozen=True, slots=True)
class Price:
    connector: str
    channel: str
    prefix: str
    currency: str
    price_micros: int


async def list_prices(conn: AsyncConnection) -> list[Price]:
    rows = await conn.execute(
        sa.select(
            route_prices.c.connector,
            route_prices.c.channel,
            route_prices.c.prefix,
            route_prices.c.currency,
            route_prices.c.price_micros,
        ).order_by(route_prices.c.connector, route_prices.c.channel, route_prices.c.prefix)
    )
    return [Price(str(a), str(b), str(c), str(d), int(e)) for a, b, c, d, e in rows]


async def accepted_counts(conn: AsyncConnection) -> dict[str, int]:
    """Messages each connector has accepted, all time (from the acceptance records)."""
    rows = await conn.execute(
        sa.select(message_connectors.c.connector, sa.func.count()).group_by(
            message_connectors.c.connector
        )
    )
    return {str(name): int(count) for name, count in rows}
