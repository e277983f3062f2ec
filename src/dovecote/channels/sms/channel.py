"""SMS as the pipeline sees it: ClickSend's receipt vocabulary, replies become inbound SMS."""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncConnection

from dovecote.channels.sms import store
from dovecote.channels.sms.inbound import record_inbound
from dovecote.pipeline.channel import Channel, check
from dovecote.pipeline.transports.base import Job, Reply

log = logging.getLogger("dovecote.sms")


async def _reply(conn: AsyncConnection, job: Job, reply: Reply) -> None:
    # A reply (a carrier MO, a sandbox auto-reply) is threaded to the message it answers.
    await record_inbound(
        conn,
        account_id=job.account_id,
        user_id=job.user_id,
        sender=reply.sender,
        recipient=reply.recipient,
        body=reply.body,
        original_message_id=job.id,
    )


async def _inbound(conn: AsyncConnection, account_id: int, reply: Reply) -> None:
    # A carrier MO: threaded, like a sandbox reply, to the account's latest SMS to the
    # sender (if any), and owned by the account's main user.
    user_id = await store.main_user(conn, account_id)
    if user_id is None:
        raise LookupError(f"account {account_id} has no main user to receive inbound SMS")
    await record_inbound(
        conn,
        account_id=account_id,
        user_id=user_id,
        sender=reply.sender,
        recipient=reply.recipient,
        body=reply.body,
    )
    log.info(
        "inbound SMS from %s to %s recorded for account %d",
        reply.sender,
        reply.recipient,
        account_id,
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
        on_inbound=_inbound,
    )
)
