"""What the pipeline needs to know about a channel: the `Channel` spec.

The dispatcher and `apply_outcome` never branch on a channel's name; they ask its spec
which event an outcome becomes, what data that event carries, what a reply (an MO, an
auto-reply) does, and which transport the sandbox uses. A channel is added by writing
its spec and naming it in `dovecote.wiring.CHANNELS`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from dovecote.pipeline.transports.base import Job, Outcome, OutcomeKind, Reply


@dataclass(frozen=True, slots=True)
class Final:
    """A final outcome (delivered, failed, expired) as ClickSend's receipt codes put it."""

    kind: OutcomeKind
    status_code: int
    status_text: str
    error_code: int | None
    at: int


FinalData = Callable[[Job, Outcome, Final], dict[str, Any]]
ReplyHandler = Callable[[AsyncConnection, Job, Reply], Awaitable[None]]


def receipt_data(job: Job, outcome: Outcome, final: Final) -> dict[str, Any]:
    """ClickSend's delivery-receipt fields, which the receipt endpoints and webhooks
    read back (`status_code`/`error_code` as integers, as the SDK's receipt models expect)."""
    return {
        "status_code": final.status_code,
        "status_text": final.status_text,
        "error_code": final.error_code,
        "error_text": outcome.error_text,
        "timestamp_send": job.sent_at or final.at,
        "timestamp": final.at,
        "custom_string": job.custom_string,
        "message_type": job.channel,
        "subaccount_id": job.user_id,
        **outcome.detail,
    }


@dataclass(frozen=True, slots=True)
class Channel:
    name: str
    # Outcome kind → the event type written to the log (every kind must be named).
    events: Mapping[OutcomeKind, str]
    # The data of the event a final outcome writes.
    final_data: FinalData = receipt_data
    # The transport used when the operator chose none: a name in the transport table.
    sandbox_transport: str = "sandbox"
    # What an inbound reply to one of this channel's messages does; None: replies to
    # this channel are logged and dropped.
    on_reply: ReplyHandler | None = None
    # The transports besides its sandbox the channel can be delivered by; None: any.
    # A channel whose real delivery does not exist yet (voice, fax) names none, so a
    # worker configured otherwise refuses to start rather than hand calls to SMTP.
    real_transports: frozenset[str] | None = None


class ChannelError(RuntimeError):
    """The wiring names something that does not exist; raised at start-up."""


OUTCOME_KINDS: tuple[OutcomeKind, ...] = ("sent", "delivered", "failed", "expired", "deferred")


def check(channel: Channel) -> Channel:
    missing = [kind for kind in OUTCOME_KINDS if kind not in channel.events]
    if missing:
        raise ChannelError(f"channel {channel.name!r} names no event for {', '.join(missing)}")
    return channel
