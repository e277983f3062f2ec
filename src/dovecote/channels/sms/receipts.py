"""SMS delivery receipts: the `receipt` events the dispatcher writes, read and polled.

A receipt stays in the poll list (`list_unread`) until it is marked read; looking one
up by message id finds it either way, as in ClickSend.
"""

from __future__ import annotations

import time

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from dovecote.core import ids
from dovecote.core.errors import InvalidInput
from dovecote.core.models import Principal
from dovecote.pipeline import receipts, webhooks
from dovecote.pipeline import receipts_store as store
from dovecote.pipeline.events import Event, EventLog
from dovecote.pipeline.receipts import Receipt, payload, receipt_from_row
from dovecote.storage.listing import ListQuery, Page

__all__ = ["Receipt", "payload", "receipt_from_row"]  # SMS's names for the shared ones

CHANNEL = "sms"
POLL = "poll"  # ClickSend's "URL" for receipts that are fetched instead of pushed


async def list_unread(conn: AsyncConnection, principal: Principal, params: ListQuery) -> Page:
    return await receipts.list_unread(conn, principal, CHANNEL, params)


async def get_receipt(conn: AsyncConnection, principal: Principal, message_id: str) -> Receipt:
    """The latest receipt of one of the caller's messages, read or not."""
    return await receipts.get_receipt(conn, principal, CHANNEL, message_id)


async def mark_read(
    conn: AsyncConnection, principal: Principal, before: float | None, *, now: int | None = None
) -> int:
    """Mark the caller's unread receipts read (only those older than `before`, if given)."""
    return await receipts.mark_read(conn, principal, CHANNEL, before, now=now)


def sample(principal: Principal, now: int) -> Receipt:
    return Receipt(
        message_id=ids.new_id(),
        user_id=principal.user.id,
        status_code=201,
        status_text="Success: Message received on handset.",
        error_code=None,
        error_text=None,
        custom_string=None,
        timestamp_send=now,
        timestamp=now,
        message_type=CHANNEL,
    )


async def send_test_receipt(
    engine: AsyncEngine,
    principal: Principal,
    url: str,
    *,
    events: EventLog,
    now: int | None = None,
    allow_private: bool = True,
    timeout: float = 5.0,  # noqa: ASYNC109 - handed to the HTTP client
) -> Receipt:
    """POST a sample receipt to `url`; `poll` adds it to the caller's receipts instead.

    Takes the engine, not a connection: the POST waits on someone else's server, and no
    database connection may be held meanwhile (on SQLite there is only one).
    """
    receipt = sample(principal, int(time.time()) if now is None else now)
    if url.strip().lower() == POLL:
        data = {k: v for k, v in payload(receipt).items() if not k.startswith("_")}
        event = Event(
            receipt.message_id,
            principal.account.id,
            principal.user.id,
            CHANNEL,
            store.RECEIPT,
            float(receipt.timestamp),
            data,
        )
        async with engine.begin() as conn:
            await events.record(conn, [event])
        return receipt
    status = await webhooks.post_json(
        url.strip(), payload(receipt), allow_private=allow_private, timeout=timeout
    )
    if not 200 <= status < 300:
        raise InvalidInput(f"{url} answered HTTP {status} to the test receipt.", field="url")
    return receipt
