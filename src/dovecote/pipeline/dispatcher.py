"""The dispatcher: claim due messages, hand them to their transport, record outcomes.

One pass is three short transactions — claim, (transport I/O outside any transaction),
finish — so a slow relay never holds database locks. Outcomes are written with one
executemany per batch; there are no per-message queries on this path.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from dovecote.pipeline import queue as store
from dovecote.pipeline import status as st
from dovecote.pipeline.events import EventSink, build_sinks, publish
from dovecote.pipeline.transports.base import Job, Outcome, Transport
from dovecote.settings import Settings

log = logging.getLogger("dovecote.dispatcher")

_OUTCOME_RECEIPT = {"delivered": 201, "failed": 300, "expired": 301}


def job_from_row(
    row: Mapping[Any, Any], payload: dict[str, Any] | None = None, content: bytes | None = None
) -> Job:
    return Job(
        id=row["id"],
        account_id=row["account_id"],
        user_id=row["user_id"],
        channel=row["channel"],
        sender=row["sender"],
        recipient=row["recipient"],
        subject=row["subject"],
        body=row["body"],
        attempts=row["attempts"],
        custom_string=row["custom_string"],
        created_at=row["created_at"],
        sent_at=row["sent_at"],
        transport_ref=row["transport_ref"],
        payload=payload,
        content=content,
    )


class Dispatcher:
    def __init__(
        self,
        engine: AsyncEngine,
        settings: Settings,
        transports: Mapping[str, Transport],
        sinks: Sequence[EventSink] | None = None,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.transports = transports
        self.sinks = build_sinks() if sinks is None else list(sinks)
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
            # Two batched reads, not one per message: payloads and built content (MIME).
            ids = [row["id"] for row in rows]
            payloads = await store.payloads(conn, ids)
            contents = await store.contents(conn, ids)
        groups: dict[tuple[str, str], list[Job]] = {}
        for row in rows:
            phase = "settle" if row["status"] == st.SENT else "send"
            job = job_from_row(row, payloads.get(row["id"]), contents.get(row["id"]))
            groups.setdefault((row["channel"], phase), []).append(job)
        batch = _Batch(self.owner, self.settings)
        for (channel, phase), jobs in groups.items():
            transport = self.transports.get(channel) or self.transports["default"]
            outcomes = await _call(transport, phase, jobs)
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
                    batch.keep(held)
            await store.finish(conn, batch.updates)
            await store.insert_events(conn, batch.events)
            await publish(conn, self.sinks, batch.events)
            if batch.replies:
                from dovecote.channels.sms.inbound import record_inbound

                for job, reply in batch.replies:
                    await record_inbound(
                        conn,
                        account_id=job.account_id,
                        user_id=job.user_id,
                        sender=reply.sender,
                        recipient=reply.recipient,
                        body=reply.body,
                        original_message_id=job.id,
                    )
        return len(rows)

    async def close(self) -> None:
        for transport in set(self.transports.values()):
            await transport.close()


async def _call(transport: Transport, phase: str, jobs: Sequence[Job]) -> Sequence[Outcome]:
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


class _Batch:
    """Accumulates the row updates and events of one pass."""

    def __init__(self, owner: str, settings: Settings) -> None:
        self.owner = owner
        self.settings = settings
        self.updates: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []
        self.replies: list[tuple[Job, Any]] = []

    def apply(self, job: Job, outcome: Outcome, phase: str, now: float) -> None:
        attempts = job.attempts + (1 if phase == "send" else 0)
        update: dict[str, Any] = {
            "_id": job.id,
            "_owner": self.owner,
            "lease_owner": None,
            "lease_until": None,
            "attempts": attempts,
            "updated_at": int(now),
            "transport_ref": outcome.transport_ref or job.transport_ref,
            "sent_at": job.sent_at,
        }
        kind = outcome.kind
        if kind == "deferred" and phase == "send" and attempts >= self.settings.worker_max_attempts:
            kind = "failed"  # out of retries: the temporary failure becomes final
        if kind == "deferred":
            delay = self.settings.worker_backoff_base**attempts
            # A failed settle (receipt lookup) leaves the message sent: back in the send
            # queue it would be handed to the transport a second time.
            status = st.SENT if phase == "settle" else st.QUEUED
            update.update(status=status, due_at=now + delay, error_text=outcome.error_text)
            self._event(
                job, "deferred", now, {"attempt_num": attempts, "reason": outcome.error_text}
            )
        elif kind == "sent":
            follow_up = outcome.follow_up_in
            update.update(
                status=st.SENT,
                sent_at=int(now),
                due_at=None if follow_up is None else now + follow_up,
                status_code="200",
                status_text="Sent to carrier",
            )
            self._event(job, "sent", now, {"attempt_num": attempts, **outcome.detail})
        else:
            code = _OUTCOME_RECEIPT[kind]
            status = st.STATUS_FOR_CODE[code]
            error_code = outcome.error_code if kind != "delivered" else None
            if kind == "failed" and outcome.error_code is not None:
                code = outcome.error_code if outcome.error_code in st.RECEIPT_CODES else code
            status_text = st.RECEIPT_CODES[code]
            update.update(
                status=status,
                due_at=None,
                sent_at=job.sent_at or int(now),
                status_code=str(code),
                status_text=status_text,
                error_code=str(error_code) if error_code is not None else None,
                error_text=outcome.error_text,
            )
            self._event(
                job,
                kind,
                now,
                {
                    "status_code": code,
                    "status_text": status_text,
                    "error_code": error_code,
                    "error_text": outcome.error_text,
                    "timestamp_send": job.sent_at or int(now),
                    "timestamp": int(now),
                    "custom_string": job.custom_string,
                    "message_type": job.channel,
                    "subaccount_id": job.user_id,
                    **outcome.detail,
                },
            )
            self.replies.extend((job, reply) for reply in outcome.replies)
        self.updates.append(update)

    def keep(self, ids: set[str]) -> None:
        self.updates = [update for update in self.updates if update["_id"] in ids]
        self.events = [event for event in self.events if event["message_id"] in ids]
        self.replies = [(job, reply) for job, reply in self.replies if job.id in ids]

    def _event(self, job: Job, kind: str, now: float, data: dict[str, Any]) -> None:
        names = st.EVENT_NAMES.get(job.channel, st.EVENT_NAMES["sms"])
        self.events.append(
            {
                "message_id": job.id,
                "account_id": job.account_id,
                "user_id": job.user_id,
                "channel": job.channel,
                "type": names[kind],
                "occurred_at": now,
                "data": data,
            }
        )
