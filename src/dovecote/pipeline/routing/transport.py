"""The router: one transport in front of every channel's own, sending routed messages
through connectors with failover.

With no route in the database (the routing version never moved, or every route removed)
each batch goes straight to the channel's configured transport: today's behaviour. With
routes, each message takes the first route it matches (else the channel's transport) and
that route's connectors in order:

- a connector that is down (see `health`) is skipped until its cool-down ends;
- a message a connector did not take because of the connector itself (refused
  connection, timeout, HTTP 5xx, SMPP bind lost: `connector_error`) goes on to the next
  connector in the same pass; any other outcome (sent, a permanent refusal, a throttle)
  is the message's outcome;
- the connector that accepted a message is recorded (`message_connectors`) before the
  outcome is written. A message claimed again after a crash finds that record and is
  reported sent again, never handed to a second connector; its receipts are settled
  by the connector that took it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from dovecote.files.store import FileStore
from dovecote.pipeline.metrics import Metrics
from dovecote.pipeline.routing.health import Board, Health
from dovecote.pipeline.routing.store import Connector, open_settings, sealer
from dovecote.pipeline.routing.table import Cache, RoutingTable
from dovecote.pipeline.transports import registry
from dovecote.pipeline.transports.base import Job, Outcome, Transport
from dovecote.settings import Settings
from dovecote.storage.tables import message_connectors

log = logging.getLogger("dovecote.routing")

ACCEPTED = frozenset({"sent", "delivered"})


def connector_error(outcome: Outcome) -> bool:
    """Did the connector itself fail (so another connector may take the message)?
    HTTP says so (`connector_error`); an SMPP deferral without an SMPP status is a bind
    that is down or a submit that got no answer."""
    if outcome.kind != "deferred":
        return False
    if outcome.detail.get("connector_error"):
        return True
    return "smpp_status" not in outcome.detail and "http_status" not in outcome.detail


class Pacer:
    """A connector's throughput cap, batch by batch: `n` messages take `n / rate` s."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self._next = 0.0

    async def take(self, count: int) -> None:
        if self.rate <= 0:
            return
        now = time.monotonic()
        at = max(now, self._next)
        self._next = at + count / self.rate
        if at > now:
            await asyncio.sleep(at - now)


@dataclasses.dataclass
class Live:
    """A connector's running transport, rebuilt when its configuration changes."""

    key: str
    transport: Transport
    pacer: Pacer


class Router:
    def __init__(
        self,
        engine: AsyncEngine,
        settings: Settings,
        defaults: Mapping[str, Transport],
        table: Mapping[str, str],
        files: FileStore,
        metrics: Metrics | None = None,
    ) -> None:
        """`defaults`: channel → the transport its settings chose; `table`: the
        transport table connectors name (`wiring.TRANSPORTS`); `files`: the process's
        file store, for connectors' transports (`Runtime.files`)."""
        self.engine = engine
        self.settings = settings
        self.defaults = defaults
        self.table = table
        self.files = files
        self.metrics = metrics
        self.cache = Cache(engine, settings.routing_refresh_seconds)
        # Shared with every worker through the database (`health.py`).
        self.board = Board(
            engine,
            settings.routing_failure_threshold,
            settings.routing_cooldown_seconds,
            settings.routing_refresh_seconds,
        )
        self.live: dict[str, Live] = {}
        self.pushed: object | None = None
        # The transport of the last batch when it went whole to a channel's own (so the
        # dispatcher's `transport` metric label stays what it was without routes), else
        # "routing". The dispatcher reads it right after each batch.
        self.name = "routing"

    # --- lifecycle ------------------------------------------------------------------

    async def start(self, pushed: object | None = None) -> None:
        self.pushed = pushed
        await registry.start(self.defaults, pushed)

    async def close(self) -> None:
        for transport in {id(t): t for t in self.defaults.values()}.values():
            await transport.close()
        for live in self.live.values():
            await live.transport.close()
        self.live = {}
        await self.board.flush()  # this worker's last counts

    def health_of(self, name: str) -> Health:
        return self.board.of(name)

    async def _transport(self, connector: Connector) -> Live:
        key = json.dumps(
            [connector.transport, connector.settings, connector.throughput],
            sort_keys=True,
            default=str,
        )
        live = self.live.get(connector.name)
        if live is not None and live.key == key:
            return live
        if live is not None:
            await live.transport.close()
            del self.live[connector.name]
        transport = build(connector, self.settings, self.table, self.files)
        await registry.start({connector.name: transport}, self.pushed)
        # SMPP paces each submit_sm itself (its `throughput` setting); others per batch.
        rate = 0.0 if connector.transport == "smpp" else connector.throughput
        live = Live(key, transport, Pacer(rate))
        self.live[connector.name] = live
        return live

    # --- sending --------------------------------------------------------------------

    async def send(self, jobs: Sequence[Job]) -> Sequence[Outcome]:
        routing = await self.cache.get()
        if not routing.routes:
            return await self._default(jobs, "send")
        await self.board.refresh()  # what the other workers found, at the table's pace
        self.name = "routing"
        accepted = await self._accepted([job.id for job in jobs])
        results: list[Outcome | None] = [None] * len(jobs)
        unrouted: list[int] = []
        pending: dict[int, list[Connector]] = {}
        for index, job in enumerate(jobs):
            if job.id in accepted:
                name, ref = accepted[job.id]
                # Taken by `name` before a crash cut the pass short: sent, not sent again.
                results[index] = Outcome(
                    "sent",
                    transport_ref=ref,
                    follow_up_in=self.settings.worker_receipt_timeout,
                    detail={"connector": name, "recovered": True},
                )
                continue
            route = routing.match(job)
            if route is None:
                unrouted.append(index)
                continue
            pending[index] = routing.failover(route)
        if unrouted:
            outcomes = await self._default([jobs[i] for i in unrouted], "send")
            for index, outcome in zip(unrouted, outcomes, strict=True):
                results[index] = outcome
        await self._send_routed(routing, jobs, pending, results)
        if len(unrouted) < len(jobs):
            self.name = "routing"
        return [outcome or Outcome("deferred", error_text="not routed") for outcome in results]

    async def _send_routed(
        self,
        routing: RoutingTable,
        jobs: Sequence[Job],
        pending: dict[int, list[Connector]],
        results: list[Outcome | None],
    ) -> None:
        tried: dict[int, list[str]] = {}
        while pending:
            groups: dict[str, list[int]] = {}
            connectors: dict[str, Connector] = {}
            for index, chain in pending.items():
                while chain and not self.health_of(chain[0].name).up():
                    chain.pop(0)
                if not chain:
                    down = ", ".join(tried.get(index, [])) or "every connector is down"
                    results[index] = Outcome(
                        "deferred", error_text=f"no connector of the route is up ({down})"
                    )
                    continue
                connectors[chain[0].name] = chain[0]
                groups.setdefault(chain[0].name, []).append(index)
            names = list(groups)
            answers = await asyncio.gather(
                *(self._hand_over(connectors[n], [jobs[i] for i in groups[n]]) for n in names)
            )
            following: dict[int, list[Connector]] = {}
            accepted: list[dict[str, Any]] = []
            for name, outcomes in zip(names, answers, strict=True):
                for index, outcome in zip(groups[name], outcomes, strict=True):
                    chain = pending[index]
                    tried.setdefault(index, []).append(name)
                    if connector_error(outcome) and len(chain) > 1:
                        if self.metrics is not None:
                            self.metrics.connector_failovers.labels(name).inc()
                        following[index] = chain[1:]
                        continue
                    outcome = _tagged(outcome, name)
                    results[index] = outcome
                    if outcome.kind in ACCEPTED:
                        accepted.append(
                            {
                                "message_id": jobs[index].id,
                                "connector": name,
                                "transport_ref": outcome.transport_ref,
                                "accepted_at": int(time.time()),
                            }
                        )
            if accepted:
                # Written before the dispatcher writes the outcomes: see the module doc.
                async with self.engine.begin() as conn:
                    await conn.execute(message_connectors.insert(), accepted)
            pending = following

    async def _hand_over(self, connector: Connector, jobs: list[Job]) -> Sequence[Outcome]:
        name = connector.name
        try:
            live = await self._transport(connector)
        except Exception as exc:  # a connector whose settings cannot build a transport
            log.error("connector %s cannot start: %s", name, exc)
            await self.board.failed(name, f"cannot start: {exc}")
            self._gauge(name)
            reason = f"connector {connector.name} cannot start: {exc}"
            return [Outcome("deferred", error_text=reason, detail={"connector_error": True})] * len(
                jobs
            )
        await live.pacer.take(len(jobs))
        try:
            outcomes = await live.transport.send(jobs)
        except Exception as exc:
            log.exception("connector %s failed on a batch of %d", connector.name, len(jobs))
            outcomes = [
                Outcome(
                    "deferred",
                    error_text=f"connector error: {type(exc).__name__}",
                    detail={"connector_error": True},
                )
            ] * len(jobs)
        if len(outcomes) != len(jobs):
            outcomes = [
                Outcome(
                    "deferred",
                    error_text="wrong number of outcomes",
                    detail={"connector_error": True},
                )
            ] * len(jobs)
        errors = [outcome for outcome in outcomes if connector_error(outcome)]
        if errors and len(errors) == len(outcomes):
            reason = errors[0].error_text or "failed"
            if await self.board.failed(name, reason):
                log.warning(
                    "connector %s is down for %.0f s: %s", name, self.board.cooldown, reason
                )
        else:
            await self.board.succeeded(name)
        kinds = Counter(outcome.kind for outcome in outcomes)
        for kind, number in kinds.items():
            self.board.count(name, kind, number)
            if self.metrics is not None:
                self.metrics.connector_messages.labels(name, kind).inc(number)
        self._gauge(name)
        return outcomes

    def _gauge(self, name: str) -> None:
        if self.metrics is not None:
            self.metrics.connector_up.labels(name).set(1 if self.health_of(name).up() else 0)

    async def _accepted(self, ids: Sequence[str]) -> dict[str, tuple[str, str | None]]:
        found: dict[str, tuple[str, str | None]] = {}
        async with self.engine.connect() as conn:
            for start in range(0, len(ids), 500):
                rows = await conn.execute(
                    sa.select(
                        message_connectors.c.message_id,
                        message_connectors.c.connector,
                        message_connectors.c.transport_ref,
                    ).where(message_connectors.c.message_id.in_(ids[start : start + 500]))
                )
                found.update({str(m): (str(c), r) for m, c, r in rows})
        return found

    async def _default(self, jobs: Sequence[Job], phase: str) -> Sequence[Outcome]:
        transport = self.defaults[jobs[0].channel]  # the dispatcher groups by channel
        self.name = transport.name
        return await (transport.send(jobs) if phase == "send" else transport.settle(jobs))

    # --- receipts -------------------------------------------------------------------

    async def settle(self, jobs: Sequence[Job]) -> Sequence[Outcome]:
        routing = await self.cache.get()
        if routing.version == 0:
            return await self._default(jobs, "settle")  # routing never configured
        self.name = "routing"
        accepted = await self._accepted([job.id for job in jobs])
        results: list[Outcome | None] = [None] * len(jobs)
        groups: dict[str, list[int]] = {}
        unrouted: list[int] = []
        for index, job in enumerate(jobs):
            if job.id in accepted:
                groups.setdefault(accepted[job.id][0], []).append(index)
            else:
                unrouted.append(index)
        if unrouted:
            outcomes = await self._default([jobs[i] for i in unrouted], "settle")
            for index, outcome in zip(unrouted, outcomes, strict=True):
                results[index] = outcome
        if groups:
            self.name = "routing"
        for name, indexes in groups.items():
            connector = routing.connectors.get(name)
            if connector is None:
                for index in indexes:
                    results[index] = Outcome(
                        "expired", error_text=f"connector {name} was removed before a receipt"
                    )
                continue
            live = await self._transport(connector)
            outcomes = await live.transport.settle([jobs[i] for i in indexes])
            for index, outcome in zip(indexes, outcomes, strict=True):
                results[index] = _tagged(outcome, name)
        return [outcome or Outcome("deferred", error_text="not settled") for outcome in results]


def _tagged(outcome: Outcome, connector: str) -> Outcome:
    """The outcome with `connector` in its event detail (and the failover marker gone).
    Built field by field, which costs about half of `dataclasses.replace`."""
    detail = outcome.detail
    if detail.get("connector") == connector and "connector_error" not in detail:
        return outcome
    detail = {k: v for k, v in detail.items() if k != "connector_error"}
    detail["connector"] = connector
    return Outcome(
        outcome.kind,
        outcome.error_code,
        outcome.error_text,
        outcome.transport_ref,
        outcome.follow_up_in,
        outcome.replies,
        detail,
    )


def build(
    connector: Connector, settings: Settings, table: Mapping[str, str], files: FileStore
) -> Transport:
    """A connector's transport: its class's `from_connector` when it has one (the http
    transport), else `from_settings` on a copy of the settings where the connector's
    keys replace the transport's own (`host` → `smpp_host` for an SMPP connector)."""
    if connector.transport not in table:
        raise ValueError(f"unknown transport {connector.transport!r}")
    cls: Any = registry.load(table[connector.transport])
    # Secrets are opened here, in memory, for the transport only (see `store`).
    values = open_settings(connector.settings, sealer(settings))
    if hasattr(cls, "from_connector"):
        transport: Transport = cls.from_connector(settings, connector.name, values)
        return transport
    if connector.throughput:
        values["throughput"] = connector.throughput
    update: dict[str, Any] = {}
    for key, value in values.items():
        field = f"{connector.transport.replace('-', '_')}_{key}"
        if field not in Settings.model_fields:
            raise ValueError(f"{connector.transport} has no setting {key!r}")
        update[field] = value
    merged = Settings.model_validate({**settings.model_dump(), **update})
    transport = cls.from_settings(merged, files)
    return transport
