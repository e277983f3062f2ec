"""Turning transport outcomes into message status, events and replies.

The dispatcher applies the outcomes of the batches it hands over; a carrier that pushes
receipts later (an SMPP `deliver_sm`, a provider's callback) applies them out of band
with `apply_outcome`. Both go through `OutcomeBatch`, so a receipt means the same thing
whichever way it arrives. What an outcome becomes for a channel — the event's name, its
data, what a reply does — is the channel's `Channel` spec; nothing here names a channel.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, cast

from sqlalchemy.ext.asyncio import AsyncConnection

from dovecote.pipeline import leases
from dovecote.pipeline import queue as store
from dovecote.pipeline import status as st
from dovecote.pipeline.channel import Channel, Final
from dovecote.pipeline.events import Event, EventLog
from dovecote.pipeline.transports.base import Job, Outcome, OutcomeKind, Reply
from dovecote.settings import Settings

log = logging.getLogger("dovecote.outcomes")

Phase = Literal["send", "settle"]

# Outcome kind → ClickSend receipt status code; a transport's own failure code (302
# Rejected, …) replaces the generic 300 when ClickSend knows it.
_RECEIPT_CODE = {"delivered": 201, "failed": 300, "expired": 301}


@dataclass(frozen=True, slots=True)
class Retry:
    max_attempts: int  # hand-overs (send) before a temporary failure becomes final
    backoff_base: float
    # A sent message whose receipt cannot be had for this long expires (ClickSend 301),
    # as a carrier's validity period would end it; without it a receipt lookup that keeps
    # failing would be retried forever.
    receipt_timeout: float = 72 * 3600

    @classmethod
    def from_settings(cls, settings: Settings) -> Retry:
        return cls(
            settings.worker_max_attempts,
            settings.worker_backoff_base,
            settings.worker_receipt_timeout,
        )


class UnknownChannel(LookupError):
    pass


class OutcomeBatch:
    """The row updates, events and replies of a set of outcomes, written together.

    `owner` is the worker's lease: its updates apply only to rows it still holds, so a
    worker that lost its lease cannot overwrite the new owner's result. Out-of-band
    outcomes have no lease (`owner=None`) and apply only to rows no worker holds.
    """

    def __init__(
        self, channels: Mapping[str, Channel], retry: Retry, owner: str | None = None
    ) -> None:
        self.channels = channels
        self.retry = retry
        self.owner = owner
        self.updates: list[dict[str, Any]] = []
        self.events: list[Event] = []
        self.replies: list[tuple[Channel, Job, Reply]] = []
        self._kind_of: dict[str, tuple[str, str]] = {}  # message id → (channel, outcome)

    def channel(self, name: str) -> Channel:
        try:
            return self.channels[name]
        except KeyError:
            raise UnknownChannel(f"no channel {name!r} is wired") from None

    def apply(self, job: Job, outcome: Outcome, phase: Phase, now: float) -> None:
        channel = self.channel(job.channel)
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
        if kind == "deferred" and phase == "send" and attempts >= self.retry.max_attempts:
            kind = "failed"  # out of retries: the temporary failure becomes final
        waited = now - job.sent_at if job.sent_at is not None else 0.0
        if kind == "deferred" and phase == "settle" and waited >= self.retry.receipt_timeout:
            kind = "expired"  # no receipt within the validity period
        if kind == "deferred":
            delay = leases.backoff(self.retry.backoff_base, attempts)
            # A failed settle (receipt lookup) leaves the message sent: back in the send
            # queue it would be handed to the transport a second time.
            status = st.SENT if phase == "settle" else st.QUEUED
            update.update(status=status, due_at=now + delay, error_text=outcome.error_text)
            data = {"attempt_num": attempts, "reason": outcome.error_text}
        elif kind == "sent":
            follow_up = outcome.follow_up_in
            update.update(
                status=st.SENT,
                sent_at=int(now),
                due_at=None if follow_up is None else now + follow_up,
                status_code="200",
                status_text=st.RECEIPT_CODES[200],
            )
            data = {"attempt_num": attempts, **outcome.detail}
        else:
            final = _final(job, outcome, kind, now)
            update.update(
                status=st.STATUS_FOR_CODE[final.status_code],
                due_at=None,
                sent_at=job.sent_at or final.at,
                status_code=str(final.status_code),
                status_text=final.status_text,
                error_code=None if final.error_code is None else str(final.error_code),
                error_text=outcome.error_text,
            )
            data = channel.final_data(job, outcome, final)
            self.replies.extend((channel, job, reply) for reply in outcome.replies)
        self.events.append(
            Event(job.id, job.account_id, job.user_id, job.channel, channel.events[kind], now, data)
        )
        self.updates.append(update)
        self._kind_of[job.id] = (job.channel, kind)

    @property
    def kinds(self) -> Counter[tuple[str, str]]:
        """How many of the kept outcomes were of each (channel, outcome)."""
        return Counter(self._kind_of[update["_id"]] for update in self.updates)

    def keep(self, ids: set[str]) -> None:
        """Drop everything about rows outside `ids` (their lease was lost)."""
        self.updates = [update for update in self.updates if update["_id"] in ids]
        self.events = [event for event in self.events if event.message_id in ids]
        self.replies = [item for item in self.replies if item[1].id in ids]

    async def write(self, conn: AsyncConnection, events: EventLog) -> None:
        await store.finish(conn, self.updates)
        await events.record(conn, self.events)
        for channel, job, reply in self.replies:
            if channel.on_reply is None:
                log.info(
                    "reply to %s message %s dropped: the channel takes none", job.channel, job.id
                )
                continue
            await channel.on_reply(conn, events, job, reply)


def _final(job: Job, outcome: Outcome, kind: str, now: float) -> Final:
    code = _RECEIPT_CODE[kind]
    error_code = outcome.error_code if kind != "delivered" else None
    if kind == "failed" and outcome.error_code in st.RECEIPT_CODES:
        code = outcome.error_code
    return Final(
        kind=cast(OutcomeKind, kind),
        status_code=code,
        status_text=st.RECEIPT_CODES[code],
        error_code=error_code,
        at=int(now),
    )


async def apply_outcome(
    conn: AsyncConnection,
    message_id: str,
    outcome: Outcome,
    *,
    channels: Mapping[str, Channel],
    retry: Retry,
    events: EventLog,
    now: float | None = None,
) -> bool:
    """Apply an outcome that arrived out of band (a pushed delivery receipt) to a sent
    message no worker holds. Returns False, writing nothing, when the message is unknown,
    still leased, or already final (a duplicate receipt changes nothing); a caller that
    may see a receipt before the send's own outcome is written keeps it and tries again."""
    job = await store.load_job(conn, message_id)
    if job is None or job.leased or job.status in st.FINAL_STATUSES:
        return False
    batch = OutcomeBatch(channels, retry)
    batch.apply(job.job, outcome, "settle", time.time() if now is None else now)
    if not await store.finish_unleased(conn, batch.updates):
        return False
    await events.record(conn, batch.events)
    for channel, source, reply in batch.replies:
        if channel.on_reply is not None:
            await channel.on_reply(conn, events, source, reply)
    return True
