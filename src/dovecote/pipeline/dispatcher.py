"""The dispatcher: claim due messages, hand them to their transport, record outcomes.

One pass is three short transactions — claim, (transport I/O outside any transaction),
finish — so a slow relay never holds database locks. Outcomes are written with one
executemany per batch; there are no per-message queries on this path. The dispatcher
knows channels and transports only through the wiring: each claimed message's channel
spec says what its outcomes mean, and the channel's transport is looked up by name.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from collections.abc import Mapping, Sequence
from time import perf_counter  # apart from `time`: tests replace the module's clock

from sqlalchemy.ext.asyncio import AsyncEngine

from dovecote.pipeline import queue as store
from dovecote.pipeline import status as st
from dovecote.pipeline.channel import Channel
from dovecote.pipeline.events import EventLog
from dovecote.pipeline.metrics import Metrics
from dovecote.pipeline.outcomes import OutcomeBatch, Phase, Retry
from dovecote.pipeline.pushed import Pushed
from dovecote.pipeline.transports.base import Job, Outcome, Transport
from dovecote.settings import Settings

log = logging.getLogger("dovecote.dispatcher")


class Dispatcher:
    def __init__(
        self,
        engine: AsyncEngine,
        settings: Settings,
        channels: Mapping[str, Channel],
        transports: Mapping[str, Transport],
        events: EventLog,
        metrics: Metrics | None = None,
    ) -> None:
        """`transports` maps each channel name to the transport that delivers it."""
        missing = sorted(set(channels) - set(transports))
        if missing:
            raise ValueError(f"no transport for channel(s) {', '.join(missing)}")
        self.engine = engine
        self.settings = settings
        self.channels = channels
        self.transports = transports
        self.events = events
        self.metrics = metrics
        self.retry = Retry.from_settings(settings)
        # Fits `lease_owner` (64) even with a 63-character host name (Kubernetes pods).
        self.owner = f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

    async def run_once(self) -> int:
        """Process one batch; returns how many messages it claimed."""
        now = time.time()
        async with self.engine.begin() as conn:
            rows = await store.claim(
                conn,
                owner=self.owner,
                now=now,
                lease=self.settings.worker_lease_seconds,
                limit=self.settings.worker_batch_size,
            )
            if not rows:
                return 0
            if self.metrics is not None:
                self.metrics.batch_size.observe(len(rows))
            # Two batched reads, not one per message: payloads and built content (MIME).
            ids = [row["id"] for row in rows]
            payloads = await store.payloads(conn, ids)
            contents = await store.contents(conn, ids)
        groups: dict[tuple[str, Phase], list[Job]] = {}
        batch = OutcomeBatch(self.channels, self.retry, self.owner)
        for row in rows:
            job = store.job_from_row(row, payloads.get(row["id"]), contents.get(row["id"]))
            if job.channel not in self.channels:
                # A row written by a newer or differently wired Dovecote: keep it, retry
                # later, and say so, rather than hand it to some other channel's transport.
                log.error("message %s has channel %r, which is not wired", job.id, job.channel)
                continue
            phase: Phase = "settle" if row["status"] == st.SENT else "send"
            groups.setdefault((job.channel, phase), []).append(job)
        for (channel, phase), jobs in groups.items():
            transport = self.transports[channel]
            started = perf_counter()
            outcomes = await _call(transport, phase, jobs)
            if self.metrics is not None:
                self.metrics.transport_seconds.labels(transport.name, phase).observe(
                    perf_counter() - started
                )
            for job, outcome in zip(jobs, outcomes, strict=True):
                batch.apply(job, outcome, phase, time.time())
        async with self.engine.begin() as conn:
            # A lease that ran out mid-batch may have been taken over by another worker:
            # drop those outcomes whole (row, events, replies), not only the row update.
            # Checked only for a slow pass; well inside the lease nobody else can claim.
            if time.time() - now > self.settings.worker_lease_seconds / 2:
                held = await store.hold_leases(conn, self.owner, ids)
                if len(held) < len(ids):
                    log.warning("lease lost on %d of %d messages", len(ids) - len(held), len(ids))
                    if self.metrics is not None:
                        self.metrics.lease_losses.inc(len(ids) - len(held))
                    batch.keep(held)
            await batch.write(conn, self.events)
        if self.metrics is not None:
            self.metrics.count_outcomes(batch.kinds)
        return len(rows)

    def pushed(self) -> Pushed:
        """What a transport that hears receipts and inbound messages out of band needs."""
        return Pushed(self.engine, self.channels, self.retry, self.events)

    async def close(self) -> None:
        for transport in {id(t): t for t in self.transports.values()}.values():
            await transport.close()


async def _call(transport: Transport, phase: Phase, jobs: Sequence[Job]) -> Sequence[Outcome]:
    try:
        outcomes = await (transport.send(jobs) if phase == "send" else transport.settle(jobs))
    except Exception as exc:  # a transport bug or outage must not lose the batch
        log.exception("transport %s failed on a batch of %d", transport.name, len(jobs))
        return [Outcome("deferred", error_text=f"transport error: {exc}")] * len(jobs)
    if len(outcomes) != len(jobs):
        log.error(
            "transport %s returned %d outcomes for %d jobs",
            transport.name,
            len(outcomes),
            len(jobs),
        )
        return [
            Outcome("deferred", error_text="transport returned a wrong number of outcomes")
        ] * len(jobs)
    return outcomes
