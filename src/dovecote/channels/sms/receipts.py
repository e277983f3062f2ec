"""SMS delivery receipts: the `receipt` events the dispatcher writes, read and polled.

A receipt stays in the poll list (`list_unread`) until it is marked read; looking one
up by message id finds it either way, as in ClickSend.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from dovecote.core.models import Principal
from dovecote.pipeline import receipts
from dovecote.pipeline.events import EventLog
from dovecote.pipeline.receipts import Receipt, payload, receipt_from_row
from dovecote.storage.listing import ListQuery, Page

__all__ = ["Receipt", "payload", "receipt_from_row"]  # SMS's names for the shared ones

CHANNEL = "sms"
POLL = receipts.POLL


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
    return receipts.sample(principal, CHANNEL, now)


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
    """POST a sample receipt to `url`; `poll` adds it to the caller's receipts instead
    (`pipeline.receipts.send_test_receipt`, for SMS)."""
    return await receipts.send_test_receipt(
        engine,
        principal,
        CHANNEL,
        url,
        events=events,
        now=now,
        allow_private=allow_private,
        timeout=timeout,
    )
