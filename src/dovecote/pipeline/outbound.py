"""Accepting outbound messages of any channel: throttle, charge, queue — in one transaction.

Each channel composes its requests into `Outbound` items (validated, priced, each with
its own ClickSend application status); `accept` then applies what every channel shares.
A request either queues and charges, or does neither: the caller's transaction holds
both the debit and the inserted rows.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from dovecote.billing import ledger
from dovecote.core.ids import new_id
from dovecote.core.models import Principal
from dovecote.pipeline import queue as store
from dovecote.pipeline import status as st
from dovecote.pipeline.events import Event, EventLog
from dovecote.pipeline.pricing import client_price
from dovecote.pipeline.routing import pricing as route_pricing

# The event that records a message's acceptance (statistics count it from here); email
# writes SendGrid's `processed` instead.
QUEUED_EVENT = "queued"
CANCELLED_EVENT = "cancelled"

SUCCESS = "SUCCESS"
MAX_MESSAGES = 1000


@dataclass(slots=True)
class Outbound:
    """One requested message after validation and pricing."""

    channel: str
    recipient: str
    body: str
    status: str = SUCCESS  # ClickSend application status
    sender: str = ""
    country: str = ""
    subject: str | None = None
    parts: int = 1
    encoding: str = "GSM"
    price_micros: int = 0
    schedule: int | None = None
    custom_string: str | None = None
    source: str | None = None
    from_email: str | None = None
    list_id: int | None = None
    is_test: bool = False
    id: str | None = None  # assigned when queued, unless the channel chose it already
    group_id: str | None = None  # the first row of a multi-recipient message (email)
    extra: dict[str, Any] = field(default_factory=dict)
    # What besides the body makes two messages the same for the throttle (an MMS's
    # channel, subject and media); "" for SMS, whose hash is the body's alone.
    fingerprint: str = ""
    # Channel-specific request data kept with the row (`message_payloads`), which the
    # transport gets as `Job.payload`: a voice call's language, a fax's document.
    payload: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return self.status == SUCCESS

    @property
    def body_hash(self) -> str:
        text = f"{self.fingerprint}\x00{self.body}" if self.fingerprint else self.body
        return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class Accepted:
    items: Sequence[Outbound]
    currency: str

    @property
    def queued(self) -> list[Outbound]:
        return [item for item in self.items if item.ok]

    @property
    def total_price_micros(self) -> int:
        return sum(item.price_micros for item in self.queued)


async def accept(
    conn: AsyncConnection,
    principal: Principal,
    items: Sequence[Outbound],
    *,
    now: float,
    throttle_window: int,
    dry_run: bool = False,
    events: EventLog | None,
) -> Accepted:
    """Throttle, charge and (unless `dry_run`) queue the items that passed validation.

    A `queued` event goes through `events` for every queued message (not the test
    numbers', which are never sent) in the same transaction, so sinks such as the
    statistics rollups count each accepted message exactly once. Required, so that no
    caller leaves it out by accident (its messages would never be counted); None only
    where the caller records acceptance itself (email writes `processed` events)."""
    if not principal.account.active:
        for item in items:
            item.status = "ACCOUNT_NOT_ACTIVATED"
    await _throttle(conn, principal, items, now=now, window=throttle_window)
    # A route with its own price for the destination sets the price (routing.pricing).
    await route_pricing.reprice(conn, principal.account.id, principal.account.currency, items)
    # A reseller's client pays its reseller's margin on top of every channel's price.
    for item in items:
        item.price_micros = client_price(item.price_micros, principal.account.settings)
    await _charge(conn, principal, items, dry_run=dry_run)
    if not dry_run:
        await _queue(conn, principal, items, now=now)
        if events is not None:
            carried: dict[tuple[int, str | None], dict[str, Any]] = {}
            account_id, user_id = principal.account.id, principal.user.id
            await events.record(
                conn,
                [
                    Event(
                        item.id,
                        account_id,
                        user_id,
                        item.channel,
                        QUEUED_EVENT,
                        now,
                        _carried(item, carried),
                    )
                    for item in items
                    if item.ok and not item.is_test and item.id is not None
                ],
            )
    return Accepted(items=items, currency=principal.account.currency)


def _carried(
    item: Outbound, shared: dict[tuple[int, str | None], dict[str, Any]]
) -> dict[str, Any]:
    """What a sink counts, so it need not read the message back. The events of one price
    and source share one dict (read only, as the Event holding it): the event log encodes
    each distinct one once (`storage.bulk`), ~1.7 ms less per 1,000 messages."""
    key = (item.price_micros, item.source)
    data = shared.get(key)
    if data is None:
        data = shared[key] = {"price_micros": item.price_micros, "source": item.source}
    return data


async def _throttle(
    conn: AsyncConnection,
    principal: Principal,
    items: Sequence[Outbound],
    *,
    now: float,
    window: int,
) -> None:
    """The same body to the same recipient inside the window is THROTTLED (as ClickSend does)."""
    candidates = [item for item in items if item.ok and not item.is_test]
    if not candidates or window <= 0:
        return
    # Concurrent sends of the account wait here, so each sees what the others committed:
    # on PostgreSQL two identical requests would otherwise both find nothing and both
    # queue. The debit that follows takes the same row lock anyway, so this costs only
    # the throttle query's time inside it. (SQLite's single writer already serializes.)
    await store.lock_account(conn, principal.account.id)
    seen = await store.recent_pairs(
        conn, principal.account.id, (item.recipient for item in candidates), int(now) - window
    )
    for item in candidates:
        key = (item.recipient, item.body_hash)
        if key in seen:
            item.status = "THROTTLED"
        else:
            seen.add(key)  # a duplicate inside one request is throttled too


async def _charge(
    conn: AsyncConnection, principal: Principal, items: Sequence[Outbound], *, dry_run: bool
) -> None:
    """Debit the total. If the balance is short, walk the messages in request order and
    keep each one that still fits; the rest answer INSUFFICIENT_CREDIT. A cheaper message
    after an unaffordable one may still go: credit is never left unused for ordering's sake."""
    account_id = principal.account.id
    payable = [item for item in items if item.ok and item.price_micros > 0]
    total = sum(item.price_micros for item in payable)
    if total == 0:
        return
    if not dry_run and await store.debit(
        conn, account_id, total, kind=ledger.SEND, reference=_batch(payable)
    ):
        return
    # Short (or a dry run): decide from the balance. Under concurrency the balance may
    # drop again before our debit, so retry with what is left until the debit holds.
    while True:
        available = await store.balance(conn, account_id)
        spent = 0
        for item in payable:
            if item.ok and spent + item.price_micros <= available:
                spent += item.price_micros
            else:
                item.status = "INSUFFICIENT_CREDIT"
        if dry_run or await store.debit(
            conn, account_id, spent, kind=ledger.SEND, reference=_batch(payable)
        ):
            return
        payable = [item for item in payable if item.ok]


def _batch(items: Sequence[Outbound]) -> str:
    """A send's ledger reference: its channel and how many messages the debit paid for
    (the messages themselves carry their own price)."""
    paid = [item for item in items if item.ok]
    return f"{paid[0].channel}: {len(paid)} message{'s' if len(paid) != 1 else ''}" if paid else ""


async def _queue(
    conn: AsyncConnection, principal: Principal, items: Sequence[Outbound], *, now: float
) -> None:
    created = int(now)
    # Read once, not per row: a send of 1,000 builds 1,000 rows of 26 keys here.
    account_id, user_id = principal.account.id, principal.user.id
    currency = principal.account.currency
    rows = []
    for item in items:
        if not item.ok:
            continue
        item.id = item.id or new_id()
        due = None if item.is_test else float(max(item.schedule or 0, now))
        rows.append(
            {
                "id": item.id,
                "account_id": account_id,
                "user_id": user_id,
                "channel": item.channel,
                "direction": "out",
                "sender": item.sender,
                "recipient": item.recipient,
                "country": item.country,
                "subject": item.subject,
                "body": item.body,
                "body_hash": item.body_hash,
                "parts": item.parts,
                "encoding": item.encoding,
                "price_micros": item.price_micros,
                "currency": currency,
                "custom_string": item.custom_string,
                "source": item.source,
                "from_email": item.from_email,
                "list_id": item.list_id,
                "group_id": item.group_id,
                "is_test": item.is_test,
                # Test numbers are settled here and never reach a transport.
                "status": st.TEST if item.is_test else st.QUEUED,
                "schedule": item.schedule,
                "due_at": due,
                "created_at": created,
                "updated_at": created,
            }
        )
    await store.insert_messages(conn, rows)
    payloads = [
        {"message_id": item.id, "payload": item.payload}
        for item in items
        if item.ok and item.payload is not None
    ]
    await store.insert_payloads(conn, payloads)


async def cancel(
    conn: AsyncConnection,
    principal: Principal,
    channel: str,
    message_ids: Sequence[str] | None,
    *,
    now: float,
    user_id: int | None = None,
    events: EventLog | None = None,
) -> list[str]:
    """Cancel messages not yet claimed by a worker and refund what they cost; with
    `user_id`, only that user's (the caller's scope when it may not see the account's).
    With `events`, each cancelled message gets a `cancelled` event."""
    cancelled = await store.cancel(conn, principal.account.id, message_ids, channel, now, user_id)
    await store.credit(
        conn,
        principal.account.id,
        sum(price for _, price in cancelled),
        kind=ledger.REFUND,
        reference=f"{channel}: {len(cancelled)} cancelled",
    )
    if events is not None:
        await events.record(
            conn,
            [
                Event(
                    message_id,
                    principal.account.id,
                    principal.user.id,
                    channel,
                    CANCELLED_EVENT,
                    now,
                )
                for message_id, _ in cancelled
            ],
        )
    return [message_id for message_id, _ in cancelled]
