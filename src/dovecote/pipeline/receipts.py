"""Delivery receipts of any channel: the `receipt` events the dispatcher writes, read
and polled, and ClickSend's test receipt.

A receipt stays in the poll list (`list_unread`) until it is marked read; looking one
up by message id finds it either way, as in ClickSend. Each channel names itself; the
data a channel adds to its receipts (a voice call's key presses, a fax's pages) stays
in `data`.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from dovecote.core import ids
from dovecote.core.errors import InvalidInput, NotFound
from dovecote.core.models import Principal
from dovecote.pipeline import receipts_store as store
from dovecote.pipeline import webhooks
from dovecote.pipeline.events import Event, EventLog
from dovecote.pipeline.scope import scope_for
from dovecote.storage.listing import ListQuery, Page

POLL = "poll"  # ClickSend's "URL" for receipts that are fetched instead of pushed


@dataclass(frozen=True, slots=True)
class Receipt:
    message_id: str
    user_id: int
    status_code: int | None
    status_text: str | None
    error_code: int | None
    error_text: str | None
    custom_string: str | None
    timestamp_send: int | None
    timestamp: int
    message_type: str
    data: Mapping[str, Any] = field(default_factory=dict)  # the event's data, as written


def _int(value: Any) -> int | None:
    """Receipt codes are integers on the wire (the SDK's SmsReceipt is strict about it)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    text = str(value).strip()
    return int(text) if re.fullmatch(r"-?[0-9]+", text) else None


def receipt_from_row(row: Mapping[Any, Any]) -> Receipt:
    data: Mapping[str, Any] = row["data"] or {}
    timestamp = _int(data.get("timestamp"))
    return Receipt(
        message_id=row["message_id"],
        user_id=int(row["user_id"]),
        status_code=_int(data.get("status_code")),
        status_text=data.get("status_text"),
        error_code=_int(data.get("error_code")),
        error_text=data.get("error_text"),
        custom_string=data.get("custom_string"),
        timestamp_send=_int(data.get("timestamp_send")),
        timestamp=timestamp if timestamp is not None else int(row["occurred_at"]),
        message_type=str(data.get("message_type") or row["channel"]),
        data=data,
    )


def payload(receipt: Receipt) -> dict[str, Any]:
    """ClickSend's receipt document: what the API returns and what a receipt URL is sent."""
    return {
        "timestamp_send": receipt.timestamp_send,
        "timestamp": receipt.timestamp,
        "message_id": receipt.message_id,
        "status_code": receipt.status_code,
        "status_text": receipt.status_text,
        "error_code": receipt.error_code,
        "error_text": receipt.error_text,
        "custom_string": receipt.custom_string,
        "subaccount_id": receipt.user_id,
        "message_type": receipt.message_type,
        # The spec's list example spells it with an underscore; the SDK without.
        "_message_type": receipt.message_type,
    }


async def list_unread(
    conn: AsyncConnection, principal: Principal, channel: str, params: ListQuery
) -> Page:
    return await store.list_unread_receipts(conn, scope_for(principal), channel, params)


async def get_receipt(
    conn: AsyncConnection, principal: Principal, channel: str, message_id: str
) -> Receipt:
    """The latest receipt of one of the caller's messages, read or not."""
    row = await store.latest_receipt(conn, scope_for(principal), channel, message_id.upper())
    if row is None:
        raise NotFound(f"No delivery receipt for message {message_id}.")
    return receipt_from_row(row)


async def mark_read(
    conn: AsyncConnection,
    principal: Principal,
    channel: str,
    before: float | None,
    *,
    now: int | None = None,
) -> int:
    """Mark the caller's unread receipts read (only those older than `before`, if given)."""
    stamp = int(time.time()) if now is None else now
    return await store.mark_receipts_read(conn, scope_for(principal), channel, before, stamp)


def sample(principal: Principal, channel: str, now: int) -> Receipt:
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
        message_type=channel,
    )


async def send_test_receipt(
    engine: AsyncEngine,
    principal: Principal,
    channel: str,
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
    receipt = sample(principal, channel, int(time.time()) if now is None else now)
    if url.strip().lower() == POLL:
        data = {k: v for k, v in payload(receipt).items() if not k.startswith("_")}
        event = Event(
            receipt.message_id,
            principal.account.id,
            principal.user.id,
            channel,
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
