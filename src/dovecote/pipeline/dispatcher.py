"""The dispatcher: claim due messages, hand them to their transport, record outcomes.

One pass is two short transactions — claim, then (after the transport I/O, outside any
transaction) finish — so a slow relay never holds database locks. Outcomes are written
with one statement per table and batch; there are no per-message queries on this path.
The dispatcher knows channels and transports only through the wiring: each claimed
message's channel spec says what its outcomes mean, and the channel's transport is
looked up by name.

The worker loop runs the two halves of a pass apart (`hand_over`, `finish`) so that on
PostgreSQL the next batch is claimed and handed over while the last one's outcomes are
written, on a second connection: the worker's Python and the database's writes (and the
commit's fsync) overlap instead of taking turns. At most one batch is ahead, and only
well inside its lease (`may_overlap`); `run_once` is still one whole pass.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
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


@dataclass(frozen=True, slots=True)
class Handed:
    """A claimed batch after its hand-over: its outcomes applied, not yet written."""

    claimed_at: float  # the claim's clock: the lease runs from here
    ids: list[str]  # every claimed row, unwired channels included (their leases too)
    batch: OutcomeBatch

    @property
    def count(self) -> int:
        return len(self.ids)


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
        self._half_lease = settings.worker_lease_seconds / 2
        # Claim the next batch while the last one's outcomes are written (the worker loop,
        # `may_overlap`). Not on SQLite: its one connection would take the two in turn.
        self.overlap = engine.dialect.name == "postgresql"
        # Fits `lease_owner` (64) even with a 63-character host name (Kubernetes pods).
        self.owner = f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

    async def run_once(self) -> int:
        """One whole pass: claim, hand over, finish; returns how many messages it claimed."""
        handed = await self.hand_over()
        if handed is None:
            return 0
        await self.finish(handed)
        return handed.count

    async def hand_over(self) -> Handed | None:
        """Claim a batch (its own transaction) and hand it to the transports; the outcomes
        are applied in memory, not yet written (`finish`). None when nothing was due."""
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
                return None
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
        return Handed(now, ids, batch)

    def may_overlap(self, handed: Handed) -> bool:
        """Whether the next batch may be claimed while `handed` is still being finished.

        Only on PostgreSQL (`overlap`), and only well inside the lease: the next claim runs as this same owner, so a batch
        whose lease had run out could be claimed again by it before its own finish writes
        its rows, and `finish`'s owner check would not tell the two apart.
        """
        return self.overlap and time.time() - handed.claimed_at < self._half_lease

    async def finish(self, handed: Handed) -> None:
        """Write a handed-over batch's outcomes: rows, events, replies (one transaction)."""
        batch, ids = handed.batch, handed.ids
        async with self.engine.begin() as conn:
            # A lease that ran out mid-batch may have been taken over by another worker:
            # drop those outcomes whole (row, events, replies), not only the row update.
            # Checked only for a slow pass; well inside the lease nobody else can claim.
            if time.time() - handed.claimed_at > self._half_lease:
                held = await store.hold_leases(conn, self.owner, ids)
                if len(held) < len(ids):
                    log.warning("lease lost on %d of %d messages", len(ids) - len(held), len(ids))
                    if self.metrics is not None:
                        self.metrics.lease_losses.inc(len(ids) - len(held))
                    batch.keep(held)
            await batch.write(conn, self.events)
        if self.metrics is not None:
            self.metrics.count_outcomes(batch.kinds)

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
