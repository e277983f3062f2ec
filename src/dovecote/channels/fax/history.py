"""Fax history (both directions) and its export; the pages the sandbox printed; and the
sandbox's inbound fax."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from dovecote.channels.fax import document
from dovecote.channels.fax.compose import CHANNEL, Fetched, keep
from dovecote.channels.fax.sandbox import page_key, render
from dovecote.core import ids
from dovecote.core.errors import InvalidInput, NotFound
from dovecote.core.models import Principal
from dovecote.core.phone import InvalidRecipient, parse_recipient
from dovecote.files.store import FileMissing, FileStore
from dovecote.pipeline import history
from dovecote.pipeline import queue as store
from dovecote.pipeline import status as st
from dovecote.pipeline.events import Event, EventLog
from dovecote.pipeline.scope import scope_for

HISTORY = history.ChannelHistory(
    channel=CHANNEL,
    export_path="/v3/fax/history/export/download",
    default_filename="fax-history.csv",
    kind=CHANNEL,
    with_payload=True,
)
INBOUND_EVENT = "inbound"  # the event type automations fire inbound rules on


async def page_preview(
    conn: AsyncConnection, principal: Principal, message_id: str, page: int, files: FileStore
) -> bytes:
    """One page of a fax (sent or received) as the machine printed it, as PNG."""
    row = await history.get_message(conn, scope_for(principal), CHANNEL, message_id.upper())
    if row is None:
        raise NotFound(f"Fax {message_id} is not a fax of this account.")
    try:
        return await files.get(page_key(row["id"], page))
    except FileMissing:
        raise NotFound(
            f"Fax {message_id} has no page {page}: it has {row['parts']} page(s), or the "
            "sandbox has not sent it yet, or it went to another transport."
        ) from None


async def prepare_inbound(files: FileStore, pdf: bytes) -> tuple[str, Fetched]:
    """Check, keep and print an inbound fax's PDF before its row is written (no database
    connection is held while pages render). Returns the new message id and document."""
    checked = await asyncio.to_thread(document.inspect, pdf, field="content")
    received = Fetched(content=pdf, pages=checked.pages, url="")
    message_id = ids.new_id()
    await keep(files, received)
    await render(files, message_id, pdf)
    return message_id, received


async def record_inbound(
    conn: AsyncConnection,
    principal: Principal,
    message_id: str,
    received: Fetched,
    *,
    sender: str,
    recipient: str,
    events: EventLog,
) -> Mapping[str, Any]:
    """The sandbox's "a fax arrived": a received row in fax history, pages viewable, and
    an `inbound` event in the same transaction (fax inbound automation rules fire on it)."""
    try:
        number = parse_recipient(sender, principal.account.country)
    except InvalidRecipient as exc:
        raise InvalidInput(f"from: {exc}", field="from") from None
    if not recipient.strip():
        raise InvalidInput("to must not be empty.", field="to")
    now = int(time.time())
    row = {
        "id": message_id,
        "account_id": principal.account.id,
        "user_id": principal.user.id,
        "channel": CHANNEL,
        "direction": "in",
        "sender": number.e164,
        "recipient": recipient.strip(),
        "country": number.country,
        "body": received.key,
        "parts": received.pages,
        "encoding": "",
        "status": st.RECEIVED,
        "created_at": now,
        "updated_at": now,
    }
    await store.insert_messages(conn, [row])
    await store.insert_payloads(
        conn,
        [
            {
                "message_id": message_id,
                "payload": {"document": received.key, "pages": received.pages},
            }
        ],
    )
    # The inbound document automations read (`to` for the rule's number; a fax has no
    # text, so `body` is empty) and a webhook is sent.
    document = {
        "message_id": message_id,
        "timestamp": now,
        "from": number.e164,
        "to": row["recipient"],
        "body": "",
        "message_pages": received.pages,
        "original_message_id": None,
        "custom_string": None,
    }
    await events.record(
        conn,
        [
            Event(
                message_id,
                principal.account.id,
                principal.user.id,
                CHANNEL,
                INBOUND_EVENT,
                float(now),
                document,
            )
        ],
    )
    return row
