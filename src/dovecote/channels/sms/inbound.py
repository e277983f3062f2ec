"""Inbound SMS: replies from recipients, recorded as `messages` rows with direction `in`.

A reply is threaded to the outbound message it answers (`original_message_id`): the one
named by the carrier or the sandbox, or else the account's latest SMS to the sender.
It carries that message's `custom_string`, which is how ClickSend hands a client's
reference back with replies. Unread replies make up the poll list until marked read.
A reply whose whole body is an opt-out keyword (STOP, UNSUBSCRIBE, …) also opts its
sender out of the account's later sends (`contacts/optouts.py`).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from dovecote.channels.sms import store
from dovecote.channels.sms.parts import count_parts
from dovecote.contacts import optouts
from dovecote.core import ids
from dovecote.core.errors import InvalidInput, NotFound
from dovecote.core.models import Principal
from dovecote.core.phone import InvalidRecipient, parse_recipient
from dovecote.numbers import inventory
from dovecote.pipeline import status as delivery_status
from dovecote.pipeline import webhooks
from dovecote.pipeline.events import Event, EventLog
from dovecote.pipeline.scope import Scope, scope_for
from dovecote.storage.listing import ListQuery, Page

POLL = "poll"
# The event every inbound SMS writes: automation rules (and later statistics) read it.
INBOUND_EVENT = "inbound"
MAX_PARTS = 255  # the most a concatenated SMS can have; inbound bodies are never cut


@dataclass(frozen=True, slots=True)
class Inbound:
    message_id: str
    user_id: int
    sender: str
    recipient: str
    body: str
    original_message_id: str | None
    original_body: str | None
    custom_string: str | None
    timestamp: int
    read_at: int | None


def inbound_from_row(row: Mapping[Any, Any]) -> Inbound:
    return Inbound(
        message_id=row["id"],
        user_id=int(row["user_id"]),
        sender=row["sender"],
        recipient=row["recipient"],
        body=row["body"],
        original_message_id=row["original_message_id"],
        original_body=row["original_body"],
        custom_string=row["custom_string"],
        timestamp=int(row["created_at"]),
        read_at=row["read_at"],
    )


def keyword(body: str) -> str:
    """ClickSend's deprecated `_keyword`: the first word of the body, lower case."""
    words = body.split(maxsplit=1)
    return words[0].lower() if words else ""


def payload(inbound: Inbound) -> dict[str, Any]:
    """ClickSend's inbound document: what the API returns and what an inbound URL is sent."""
    return {
        "timestamp": inbound.timestamp,
        "from": inbound.sender,
        "body": inbound.body,
        "original_body": inbound.original_body,
        "original_message_id": inbound.original_message_id,
        "to": inbound.recipient,
        "custom_string": inbound.custom_string or "",
        "message_id": inbound.message_id,
        "_keyword": keyword(inbound.body),
    }


async def record_inbound(
    conn: AsyncConnection,
    events: EventLog,
    *,
    account_id: int,
    user_id: int,
    sender: str,
    recipient: str,
    body: str,
    original_message_id: str | None = None,
    now: int | None = None,
) -> str:
    """Store an inbound SMS for `account_id` and return its message id.

    Called by transports (carrier MOs, sandbox auto-replies) inside their own
    transaction, so it is lenient: an unparseable `sender` is kept as given, and an
    `original_message_id` the account does not own is dropped rather than refused.
    Without one, the reply is threaded to the account's latest SMS to `sender`. Writes
    an `inbound` event carrying ClickSend's inbound document, so every sink (the
    automation rules) sees a reply whichever way it arrived.
    """
    created = int(time.time()) if now is None else now
    try:
        number = parse_recipient(sender, None)
        sender, country = number.e164, number.country
    except InvalidRecipient:
        number, sender, country = None, sender.strip(), ""
    if original_message_id:
        original = await store.get_outbound(conn, account_id, original_message_id.upper())
    else:
        original = await store.latest_outbound_to(conn, account_id, sender)
    parts = count_parts(body, MAX_PARTS)
    message_id = ids.new_id()
    await store.insert_inbound(
        conn,
        {
            "id": message_id,
            "account_id": account_id,
            "user_id": user_id,
            "channel": store.SMS,
            "direction": "in",
            "sender": sender,
            "recipient": recipient,
            "country": country,
            "body": body,
            "parts": parts.parts,
            "encoding": parts.encoding,
            "status": delivery_status.RECEIVED,
            "custom_string": original["custom_string"] if original else None,
            "original_message_id": original["id"] if original else None,
            "created_at": created,
            "updated_at": created,
        },
    )
    if number is not None:
        # A STOP-style reply opts its sender out of the account's later sends.
        await optouts.handle_inbound(
            conn, account_id=account_id, user_id=user_id, sender=sender, body=body
        )
    document = payload(
        Inbound(
            message_id=message_id,
            user_id=user_id,
            sender=sender,
            recipient=recipient,
            body=body,
            original_message_id=original["id"] if original else None,
            original_body=original["body"] if original else None,
            custom_string=original["custom_string"] if original else None,
            timestamp=created,
            read_at=None,
        )
    )
    await events.record(
        conn,
        [
            Event(
                message_id, account_id, user_id, store.SMS, INBOUND_EVENT, float(created), document
            )
        ],
    )
    return message_id


async def number_owner(conn: AsyncConnection, recipient: str) -> tuple[int, int] | None:
    """(account_id, user_id) owning the dedicated number `recipient`, if it is one."""
    try:
        e164 = parse_recipient(recipient, None).e164
    except InvalidRecipient:
        return None  # a sender id or short code: nobody owns it in the inventory
    return await inventory.owner_of(conn, e164)


async def receive(
    conn: AsyncConnection,
    events: EventLog,
    *,
    sender: str,
    recipient: str,
    body: str,
    now: int | None = None,
) -> str | None:
    """An inbound SMS from the network (a carrier's MO, the sandbox): recorded for the
    account that owns the dedicated number `recipient`, addressed to the user who bought
    it. None when nobody owns the number (the caller logs and drops it)."""
    owner = await number_owner(conn, recipient)
    if owner is None:
        return None
    account_id, user_id = owner
    return await record_inbound(
        conn,
        events,
        account_id=account_id,
        user_id=user_id,
        sender=sender,
        recipient=parse_recipient(recipient, None).e164,  # parsed fine: it has an owner
        body=body,
        now=now,
    )


async def simulate_inbound(
    conn: AsyncConnection,
    events: EventLog,
    principal: Principal,
    *,
    sender: str,
    recipient: str,
    body: str,
    original_message_id: str | None = None,
) -> Inbound:
    """The sandbox's "a recipient replied": validated strictly, unlike `record_inbound`.

    The reply belongs to whoever sent the message it answers (so that subaccount sees
    it), or to the caller when it answers nothing. Sent to a dedicated number, it reaches
    the number's owner, as a carrier would deliver it — even another account, which
    anyone can text; the caller then learns nothing of that account's messages.
    """
    try:
        number = parse_recipient(sender, principal.account.country)
    except InvalidRecipient as exc:
        raise InvalidInput(f"from: {exc}", field="from") from None
    if not recipient.strip():
        raise InvalidInput("to must not be empty.", field="to")
    if not body.strip():
        raise InvalidInput("body must not be empty.", field="body")
    owner = await number_owner(conn, recipient)
    if owner is not None and owner[0] != principal.account.id:
        if original_message_id:
            raise InvalidInput(
                "original_message_id: the number belongs to another account.",
                field="original_message_id",
            )
        message_id = await receive(conn, events, sender=number.e164, recipient=recipient, body=body)
        assert message_id is not None  # the number has an owner
        now = int(time.time())
        return Inbound(
            message_id, 0, number.e164, recipient.strip(), body, None, None, None, now, None
        )
    account_id = principal.account.id
    if original_message_id:
        original = await store.get_outbound(conn, account_id, original_message_id.upper())
        if original is None:
            raise InvalidInput(
                f"original_message_id {original_message_id} is not an SMS sent by this account.",
                field="original_message_id",
            )
    else:
        original = await store.latest_outbound_to(conn, account_id, number.e164)
    if original:
        user_id = int(original["user_id"])
    else:
        user_id = owner[1] if owner is not None else principal.user.id
    message_id = await record_inbound(
        conn,
        events,
        account_id=account_id,
        user_id=user_id,
        sender=number.e164,
        recipient=recipient.strip(),
        body=body,
        original_message_id=original["id"] if original else None,
    )
    row = await store.get_inbound(conn, Scope(account_id), message_id)
    assert row is not None  # just written in this transaction
    return inbound_from_row(row)


async def list_unread(conn: AsyncConnection, principal: Principal, params: ListQuery) -> Page:
    return await store.list_unread_inbound(conn, scope_for(principal), params)


async def get_reply(
    conn: AsyncConnection, principal: Principal, original_message_id: str
) -> Inbound:
    """The first reply to one of the caller's messages, read or not."""
    row = await store.first_reply(conn, scope_for(principal), original_message_id.upper())
    if row is None:
        raise NotFound(f"No inbound SMS replies to message {original_message_id}.")
    return inbound_from_row(row)


async def mark_all_read(
    conn: AsyncConnection, principal: Principal, before: float | None, *, now: int | None = None
) -> int:
    stamp = int(time.time()) if now is None else now
    return await store.mark_inbound_read(conn, scope_for(principal), before, stamp)


async def mark_read(
    conn: AsyncConnection, principal: Principal, message_id: str, *, now: int | None = None
) -> int:
    """Mark one inbound SMS read; returns how many were marked (ClickSend's `data`)."""
    stamp = int(time.time()) if now is None else now
    count = await store.mark_one_inbound_read(conn, scope_for(principal), message_id.upper(), stamp)
    if count == 0:
        raise NotFound(f"Inbound SMS {message_id} not found.")
    return count


def sample(principal: Principal, now: int) -> Inbound:
    return Inbound(
        message_id=ids.new_id(),
        user_id=principal.user.id,
        sender="+61468460249",
        recipient="+61411111111",
        body="This is a test incoming SMS.",
        original_message_id=ids.new_id(),
        original_body="This is the original message.",
        custom_string=None,
        timestamp=now,
        read_at=None,
    )


async def send_test_inbound(
    engine: AsyncEngine,
    events: EventLog,
    principal: Principal,
    url: str,
    *,
    now: int | None = None,
    allow_private: bool = True,
    timeout: float = 5.0,  # noqa: ASYNC109 - handed to the HTTP client
) -> Inbound:
    """POST a sample inbound SMS to `url`; `poll` adds it to the caller's inbound instead.

    Takes the engine, not a connection: no database connection is held while the POST
    waits on the receiver (see `send_test_receipt`).
    """
    test = sample(principal, int(time.time()) if now is None else now)
    if url.strip().lower() == POLL:
        async with engine.begin() as conn:
            message_id = await record_inbound(
                conn,
                events,
                account_id=principal.account.id,
                user_id=principal.user.id,
                sender=test.sender,
                recipient=test.recipient,
                body=test.body,
                now=test.timestamp,
            )
            row = await store.get_inbound(conn, Scope(principal.account.id), message_id)
        assert row is not None
        return inbound_from_row(row)
    status = await webhooks.post_json(
        url.strip(), payload(test), allow_private=allow_private, timeout=timeout
    )
    if not 200 <= status < 300:
        raise InvalidInput(f"{url} answered HTTP {status} to the test inbound SMS.", field="url")
    return test


async def receive_mo(
    conn: AsyncConnection,
    events: EventLog,
    account_id: int,
    *,
    sender: str,
    recipient: str,
    body: str,
) -> str | None:
    """A carrier MO for `account_id`, recorded as `simulate_inbound` records a sandbox
    reply: threaded to the account's latest SMS to the sender and owned by whoever sent
    that (so a subaccount sees replies to its messages), else by the main user.
    Returns the inbound message id, or None if the account has no main user."""
    try:
        normalized = parse_recipient(sender, None).e164
    except InvalidRecipient:
        normalized = sender.strip()
    original = await store.latest_outbound_to(conn, account_id, normalized)
    user_id = int(original["user_id"]) if original else await store.main_user(conn, account_id)
    if user_id is None:
        return None
    return await record_inbound(
        conn,
        events,
        account_id=account_id,
        user_id=user_id,
        sender=sender,
        recipient=recipient,
        body=body,
        original_message_id=original["id"] if original else None,
    )
