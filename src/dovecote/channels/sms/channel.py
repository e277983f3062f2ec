"""SMS as the pipeline sees it: ClickSend's receipt vocabulary, replies become inbound SMS."""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncConnection

from dovecote.channels.sms.inbound import receive, receive_mo, record_inbound
from dovecote.pipeline.channel import Channel, check
from dovecote.pipeline.events import EventLog
from dovecote.pipeline.transports.base import Job, Reply

log = logging.getLogger("dovecote.sms")


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


async def _inbound(
    conn: AsyncConnection, events: EventLog, account_id: int | None, reply: Reply
) -> bool:
    # A carrier MO: recorded as a sandbox reply is (an event like it, so inbound
    # automation rules fire on it too), for the owner of the dedicated number it was
    # sent to, else for the connector's fallback account.
    message_id = await receive(
        conn, events, sender=reply.sender, recipient=reply.recipient, body=reply.body
    )
    if message_id is not None:
        return True
    if account_id is None:
        return False
    message_id = await receive_mo(
        conn, events, account_id, sender=reply.sender, recipient=reply.recipient, body=reply.body
    )
    if message_id is None:
        log.warning("account %d has no user to receive inbound SMS", account_id)
        return False
    log.info("inbound SMS %s from %s recorded for account %d", message_id, reply.sender, account_id)
    return True


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
        on_inbound=_inbound,
    )
)
