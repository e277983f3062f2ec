"""Prometheus metrics of one process: requests, messages, the dispatcher, the queue.

Each process has its own registry (held by its `Runtime`, never the module-global one),
so tests and several apps in one process never mix their counts. `dovecote serve`
exposes them at `/metrics` when `DOVECOTE_METRICS_TOKEN` is set; a lone `dovecote worker`
counts but has no HTTP server to show them, while the queue and connector-health gauges,
read from the database at scrape time, cover every worker.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

import sqlalchemy as sa
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from sqlalchemy.ext.asyncio import AsyncConnection

from dovecote.pipeline import status as st
from dovecote.pipeline.routing import health as routing_health
from dovecote.storage.tables import messages

_BATCH_BUCKETS = (1, 10, 50, 100, 250, 500, 1000, 5000)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.request_seconds = Histogram(
            "dovecote_request_seconds",
            "HTTP request latency by route template and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.accepted = Counter(
            "dovecote_messages_accepted",
            "Messages accepted by the API (queued, or settled at once: test numbers, "
            "suppressed addresses), by channel",
            ["channel"],
            registry=self.registry,
        )
        self.outcomes = Counter(
            "dovecote_messages_outcomes",
            "Transport outcomes the dispatcher wrote (sent, delivered, failed, expired, deferred)",
            ["channel", "outcome"],
            registry=self.registry,
        )
        self.batch_size = Histogram(
            "dovecote_dispatch_batch_size",
            "Messages claimed per dispatcher pass (empty passes not counted)",
            buckets=_BATCH_BUCKETS,
            registry=self.registry,
        )
        self.lease_losses = Counter(
            "dovecote_dispatch_lease_losses",
            "Messages whose lease ran out before their outcome was written",
            registry=self.registry,
        )
        self.transport_seconds = Histogram(
            "dovecote_transport_seconds",
            "Time a transport took for one batch, by transport and phase",
            ["transport", "phase"],
            registry=self.registry,
        )
        self.queue_depth = Gauge(
            "dovecote_queue_depth",
            "Messages waiting in the queue (queued or sent awaiting a receipt), by channel",
            ["channel", "status"],
            registry=self.registry,
        )
        self.connector_messages = Counter(
            "dovecote_connector_messages",
            "Outcomes of messages handed to each routing connector, by connector and outcome",
            ["connector", "outcome"],
            registry=self.registry,
        )
        self.connector_failovers = Counter(
            "dovecote_connector_failovers",
            "Messages a connector could not take that went on to the next one of the route",
            ["connector"],
            registry=self.registry,
        )
        self.connector_up = Gauge(
            "dovecote_connector_up",
            "1 while a routing connector is up, 0 while it sits out its cool-down",
            ["connector"],
            registry=self.registry,
        )
        # Read from `connector_health` at scrape time: every worker's view, not this one's.
        self.connector_failures = Gauge(
            "dovecote_connector_consecutive_failures",
            "Failed hand-overs in a row of each connector, counted by all workers",
            ["connector"],
            registry=self.registry,
        )
        self.connector_downs = Gauge(
            "dovecote_connector_cooldowns",
            "Cool-downs each connector has begun, all workers, all time",
            ["connector"],
            registry=self.registry,
        )
        self.connector_handled = Gauge(
            "dovecote_connector_handled_messages",
            "Messages handed to each connector by all workers, by outcome (flushed by each "
            "worker every routing refresh)",
            ["connector", "outcome"],
            registry=self.registry,
        )
        self.oldest_due_age = Gauge(
            "dovecote_queue_oldest_due_seconds",
            "How long the oldest due, unclaimed message has been waiting",
            registry=self.registry,
        )

    def count_outcomes(self, counts: Mapping[tuple[str, str], int]) -> None:
        for (channel, outcome), count in counts.items():
            self.outcomes.labels(channel, outcome).inc(count)

    async def read_queue(self, conn: AsyncConnection, now: float | None = None) -> None:
        """Set the queue gauges from the database: one grouped count, one MIN."""
        moment = time.time() if now is None else now
        waiting = (st.QUEUED, st.SENDING, st.SENT)
        rows = await conn.execute(
            sa.select(messages.c.channel, messages.c.status, sa.func.count())
            .where(messages.c.status.in_(waiting), messages.c.due_at.is_not(None))
            .group_by(messages.c.channel, messages.c.status)
        )
        self.queue_depth.clear()
        for channel, status, count in rows:
            self.queue_depth.labels(channel, status).set(count)
        oldest = (
            await conn.execute(
                sa.select(sa.func.min(messages.c.due_at)).where(
                    messages.c.status == st.QUEUED,
                    messages.c.due_at <= moment,
                    messages.c.lease_owner.is_(None),
                )
            )
        ).scalar()
        self.oldest_due_age.set(0.0 if oldest is None else max(0.0, moment - float(oldest)))

    async def read_connectors(self, conn: AsyncConnection, now: float | None = None) -> None:
        """Set the connector gauges from the shared health rows (one small SELECT)."""
        self.connector_failures.clear()
        self.connector_downs.clear()
        self.connector_handled.clear()
        for name, health in (await routing_health.read(conn)).items():
            self.connector_up.labels(name).set(1 if health.up(now) else 0)
            self.connector_failures.labels(name).set(health.failures)
            self.connector_downs.labels(name).set(health.downs)
            for kind, count in health.counts.items():
                self.connector_handled.labels(name, kind).set(count)
