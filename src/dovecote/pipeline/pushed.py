"""What a transport needs to record what its peer pushes: receipts and inbound messages.

A carrier that pushes (an SMPP `deliver_sm`, a provider's callback) hears about
messages outside the dispatcher's loop. The worker hands such a transport a `Pushed`
when it starts it (`registry.start`); the transport calls `apply` for a receipt and
`inbound` for a message that answers nothing we sent. Both run in their own short
transaction, so the transport acknowledges its peer only once the write is committed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from dovecote.pipeline import queue as store
from dovecote.pipeline import status as st
from dovecote.pipeline.channel import Channel
from dovecote.pipeline.events import EventLog
from dovecote.pipeline.outcomes import Retry, apply_outcome
from dovecote.pipeline.transports.base import Outcome, Reply


@dataclass(frozen=True, slots=True)
class Pushed:
    engine: AsyncEngine
    channels: Mapping[str, Channel]
    retry: Retry
    events: EventLog

    async def apply(self, conn: AsyncConnection, message_id: str, outcome: Outcome) -> str:
        """Apply a pushed receipt: "applied", "final" (a duplicate: the message already
        has its final status, nothing to do), or "held" (unknown yet, or still leased by
        the dispatcher: the caller keeps the receipt and tries again)."""
        stored = await store.load_job(conn, message_id)
        if stored is not None and stored.status in st.FINAL_STATUSES:
            return "final"
        if stored is None or stored.leased or stored.status != st.SENT:
            return "held"
        applied = await apply_outcome(
            conn,
            message_id,
            outcome,
            channels=self.channels,
            retry=self.retry,
            events=self.events,
        )
        if applied:
            return "applied"
        # Another receipt for the same message won the race (they are handled in
        # parallel): that one decided, this one is a duplicate.
        again = await store.load_job(conn, message_id)
        return "final" if again is not None and again.status in st.FINAL_STATUSES else "held"

    async def inbound(
        self, conn: AsyncConnection, channel: str, account_id: int | None, reply: Reply
    ) -> bool:
        """Record an inbound message for the owner of its number, else for `account_id`
        (the connector's fallback, if any); False if the channel takes none or nobody
        can take it."""
        spec = self.channels.get(channel)
        if spec is None or spec.on_inbound is None:
            return False
        return await spec.on_inbound(conn, self.events, account_id, reply)
