"""Delivery receipts of any channel: the `receipt` events the dispatcher writes, read
and polled.

A receipt stays in the poll list (`list_unread`) until it is marked read; looking one
up by message id finds it either way, as in ClickSend.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from dovecote.core.errors import NotFound
from dovecote.core.models import Principal
from dovecote.pipeline import receipts_store as store
from dovecote.pipeline.scope import scope_for
from dovecote.storage.listing import ListQuery, Page


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
