"""SMS as the pipeline sees it: ClickSend's receipt vocabulary, replies become inbound SMS."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from dovecote.channels.sms.inbound import record_inbound
from dovecote.pipeline.channel import Channel, check
from dovecote.pipeline.events import EventLog
from dovecote.pipeline.transports.base import Job, Reply


async def _reply(conn: AsyncConnection, events: EventLog, job: Job, reply: Reply) -> None:
    # A reply (a carrier MO, a sandbox auto-reply) is threaded to the message it answers.
    await record_inbound(
        conn,
        events,
        account_id=job.account_id,
        user_id=job.user_id,
        sender=reply.sender,
        recipient=reply.recipient,
        body=reply.body,
        original_message_id=job.id,
    )


SMS = check(
    Channel(
        name="sms",
        # Every final outcome is a ClickSend delivery `receipt`; the receipt endpoints
        # and the receipt fields of its data (`pipeline.channel.receipt_data`) tell them apart.
        events={
            "sent": "sent",
            "delivered": "receipt",
            "failed": "receipt",
            "expired": "receipt",
            "deferred": "deferred",
        },
        on_reply=_reply,
    )
)
