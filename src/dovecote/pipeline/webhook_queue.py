"""Webhook deliveries as a database queue (`webhook_deliveries`), like messages.

A feature queues a delivery with `enqueue` in the transaction that decided it (an event
sink: the event and its webhook commit together or not at all); a worker claims due
rows with the shared lease helper, POSTs them (`post`), and records the attempt with
`finish`: delivered, retried on the schedule below, or dead-lettered after the last try.

Ordering: a delivery is claimable only when no earlier pending delivery exists for the
same rule and message, so the receipts of one message reach a rule's URL in event order
even across retries.

Retries on a timeout, a connection error, 429 and 5xx: 1, 2, 5, 10, 30 minutes, 1, 2, 4,
8 and 8 hours after the failures (each ±10 % jitter, so receivers that come back are not
hit by every retry at once), so the 11th and last try comes about 24 hours after the
first. A `Retry-After` answer is honoured when it asks for longer. Any other answer
(a 4xx, a redirect) is final: dead at once, since retrying cannot change it.
"""

from __future__ import annotations

import asyncio
import email.utils
import random
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import httpx
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from dovecote.core.errors import InvalidInput
from dovecote.core.ids import new_id
from dovecote.pipeline import leases
from dovecote.pipeline.webhook_signing import headers as signed_headers
from dovecote.pipeline.webhooks import check_url, pin, tls
from dovecote.storage.tables import webhook_deliveries as deliveries

PENDING: Final = "pending"
DELIVERED: Final = "delivered"
DEAD: Final = "dead"

# Seconds before retry n (after failed attempt n); its length is the number of retries.
SCHEDULE: Final = (60, 120, 300, 600, 1800, 3600, 7200, 14400, 28800, 28800)
MAX_ATTEMPTS: Final = len(SCHEDULE) + 1
TIMEOUT: Final = 10.0  # seconds for the whole attempt: connect, send, every byte of the answer
MAX_RETRY_AFTER: Final = 24 * 3600
JITTER: Final = 0.1
USER_AGENT: Final = "Dovecote-Webhooks/1"


@dataclass(frozen=True, slots=True)
class Delivery:
    """A claimed delivery, ready to send."""

    id: int
    webhook_id: str
    account_id: int
    rule_id: int
    url: str
    content_type: str
    body: str
    attempts: int  # including this one


@dataclass(frozen=True, slots=True)
class Attempt:
    """What one POST came to: an HTTP status, or an error before any (status None)."""

    status: int | None
    error: str | None
    latency_ms: int
    retry_after: float | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def retryable(self) -> bool:
        return self.status is None or self.status == 429 or self.status >= 500


def new_webhook_id() -> str:
    return "msg_" + new_id().replace("-", "").lower()


def row(
    *,
    account_id: int,
    rule_id: int,
    event_type: str,
    message_id: str | None,
    url: str,
    content_type: str,
    body: str,
    now: float,
) -> dict[str, Any]:
    """A delivery row to `enqueue`."""
    return {
        "webhook_id": new_webhook_id(),
        "account_id": account_id,
        "rule_id": rule_id,
        "event_type": event_type,
        "message_id": message_id,
        "url": url,
        "content_type": content_type,
        "body": body,
        "status": PENDING,
        "due_at": now,
        "attempts": 0,
        "created_at": now,
    }


async def enqueue(conn: AsyncConnection, rows: Sequence[Mapping[str, Any]]) -> None:
    if rows:
        await conn.execute(deliveries.insert(), list(rows))


async def claim(
    conn: AsyncConnection, *, owner: str, now: float, lease: float, limit: int
) -> list[Delivery]:
    earlier = deliveries.alias("earlier")
    in_order = ~sa.exists().where(
        earlier.c.rule_id == deliveries.c.rule_id,
        earlier.c.message_id == deliveries.c.message_id,
        earlier.c.status == PENDING,
        earlier.c.id < deliveries.c.id,
    )
    claimed = await leases.claim(
        conn,
        deliveries,
        owner=owner,
        now=now,
        lease=lease,
        limit=limit,
        returning=[
            deliveries.c.id,
            deliveries.c.webhook_id,
            deliveries.c.account_id,
            deliveries.c.rule_id,
            deliveries.c.url,
            deliveries.c.content_type,
            deliveries.c.body,
            deliveries.c.attempts,
        ],
        where=[deliveries.c.status == PENDING, in_order],
        values={"attempts": deliveries.c.attempts + 1},
    )
    return sorted(
        (
            Delivery(
                id=int(r["id"]),
                webhook_id=r["webhook_id"],
                account_id=int(r["account_id"]),
                rule_id=int(r["rule_id"]),
                url=r["url"],
                content_type=r["content_type"],
                body=r["body"],
                attempts=int(r["attempts"]),
            )
            for r in claimed
        ),
        key=lambda d: d.id,
    )


def _retry_after(value: str | None, now: float) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - now)


async def post(
    client: httpx.AsyncClient,
    delivery: Delivery,
    secrets_in_use: Sequence[str],
    *,
    allow_private: bool,
    now: float,
    timeout: float = TIMEOUT,  # noqa: ASYNC109 - a deadline for the whole attempt
) -> Attempt:
    """POST one delivery, signed; never raises for anything the receiver or network does.

    The URL is resolved and checked (SSRF) on every attempt and the checked address is the
    one connected to; redirects are not followed; `timeout` bounds the whole attempt,
    so a receiver that dribbles its answer a byte at a time is cut off."""
    body = delivery.body.encode()
    started = time.perf_counter()

    def spent() -> int:
        return int((time.perf_counter() - started) * 1000)

    try:
        target, headers, extensions = await pin(
            check_url(delivery.url), allow_private=allow_private
        )
    except InvalidInput as exc:
        return Attempt(None, exc.message, spent())
    headers.update(signed_headers(secrets_in_use, delivery.webhook_id, int(now), body))
    headers["content-type"] = delivery.content_type
    headers["user-agent"] = USER_AGENT
    try:
        async with asyncio.timeout(timeout):
            response = await client.post(
                target, content=body, headers=headers, extensions=extensions
            )
    except (TimeoutError, httpx.TimeoutException):
        return Attempt(None, f"no answer within {timeout:g} seconds", spent())
    except httpx.HTTPError as exc:
        return Attempt(None, str(exc) or type(exc).__name__, spent())
    retry_after = _retry_after(response.headers.get("retry-after"), now)
    return Attempt(response.status_code, None, spent(), retry_after)


def client(*, limit: int = 100) -> httpx.AsyncClient:
    """The HTTP client a sender keeps (pooled connections): no redirects, its own timeout."""
    return httpx.AsyncClient(
        verify=tls(),
        follow_redirects=False,
        timeout=TIMEOUT,
        limits=httpx.Limits(max_connections=limit, max_keepalive_connections=limit),
    )


def next_due(attempt: Attempt, attempts: int, now: float) -> float | None:
    """When to try again after failed attempt number `attempts`; None: dead-letter it."""
    if not attempt.retryable or attempts >= MAX_ATTEMPTS:
        return None
    delay = SCHEDULE[attempts - 1] * random.uniform(1 - JITTER, 1 + JITTER)
    if attempt.retry_after is not None:
        delay = max(delay, min(attempt.retry_after, MAX_RETRY_AFTER))
    return now + delay


def outcome(delivery: Delivery, attempt: Attempt, now: float) -> dict[str, Any]:
    """The columns an attempt sets: delivered, due again, or dead."""
    values: dict[str, Any] = {
        "last_status": attempt.status,
        "last_error": attempt.error,
        "latency_ms": attempt.latency_ms,
        "status": PENDING,
        "due_at": None,
        "finished_at": None,
    }
    if attempt.ok:
        values.update(status=DELIVERED, finished_at=now)
    else:
        due = next_due(attempt, delivery.attempts, now)
        if due is None:
            values.update(status=DEAD, finished_at=now)
        else:
            values.update(due_at=due)
    return values


async def finish(
    conn: AsyncConnection, delivery: Delivery, attempt: Attempt, *, owner: str, now: float
) -> str | None:
    """Record an attempt; returns the delivery's new status, or None when the lease was
    lost (another worker holds it now, so this outcome is dropped)."""
    values = outcome(delivery, attempt, now)
    result = await conn.execute(
        deliveries.update()
        .where(deliveries.c.id == delivery.id, deliveries.c.lease_owner == owner)
        .values(**values, lease_owner=None)
    )
    if int(result.rowcount) != 1:
        return None
    return str(values["status"])


_FINISH = (
    deliveries.update()
    .where(
        deliveries.c.id == sa.bindparam("_id"), deliveries.c.lease_owner == sa.bindparam("_owner")
    )
    .values(
        status=sa.bindparam("status"),
        due_at=sa.bindparam("due_at"),
        finished_at=sa.bindparam("finished_at"),
        last_status=sa.bindparam("last_status"),
        last_error=sa.bindparam("last_error"),
        latency_ms=sa.bindparam("latency_ms"),
        lease_owner=None,
    )
)


async def finish_many(
    conn: AsyncConnection, outcomes: Sequence[tuple[Delivery, Attempt, float]], *, owner: str
) -> list[str]:
    """Record many attempts in one statement (executemany); returns each new status.
    A row whose lease was lost is left alone, as in `finish`."""
    if not outcomes:
        return []
    rows = [
        {"_id": delivery.id, "_owner": owner, **outcome(delivery, attempt, now)}
        for delivery, attempt, now in outcomes
    ]
    await conn.execute(_FINISH, rows)
    return [str(row["status"]) for row in rows]


async def replay(
    conn: AsyncConnection, account_id: int, *, now: float, delivery_id: int | None = None
) -> int:
    """Queue again one delivery of the account (any state but in flight), or every dead
    one; the schedule starts over, the `webhook-id` stays. Returns how many."""
    conditions = [deliveries.c.account_id == account_id]
    if delivery_id is None:
        conditions.append(deliveries.c.status == DEAD)
    else:
        conditions += [deliveries.c.id == delivery_id, deliveries.c.lease_owner.is_(None)]
    result = await conn.execute(
        deliveries.update()
        .where(*conditions)
        .values(status=PENDING, due_at=now, attempts=0, finished_at=None)
    )
    return int(result.rowcount)


async def purge(conn: AsyncConnection, *, before: float, limit: int = 5000) -> int:
    """Delete up to `limit` deliveries that finished (delivered or dead) before `before`."""
    doomed = (
        sa.select(deliveries.c.id)
        .where(deliveries.c.status != PENDING, deliveries.c.finished_at < before)
        .limit(limit)
        .scalar_subquery()
    )
    result = await conn.execute(deliveries.delete().where(deliveries.c.id.in_(doomed)))
    return int(result.rowcount)
