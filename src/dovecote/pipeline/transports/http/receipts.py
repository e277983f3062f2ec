"""Receipts of an http connector's upstream: what a status code means, and the pushed ones.

A connector with `receipts=push` gets its receipts from the upstream instead of polling
for them: ClickSend's receipt automation "URL" action, or a second Dovecote's receipt
rule (`automations.sink.receipt_payload`, form-encoded or JSON), POSTs one receipt per
request to `/dovecote/providers/{connector}/receipts/{receipt_token}`. The endpoint only
checks and queues it (`accept`, one insert: the upstream is answered as soon as the row
commits); the worker's periodic job applies the queue (`apply_pending`) through
`pipeline.pushed`, i.e. `apply_outcome`, the same path as an SMPP receipt:

    status_code 201              delivered
    status_code 301              expired
    other 3xx/4xx/5xx            failed with that code
    below 300 (200, 100: interim) acknowledged, dropped
    the message is already final  dropped (a duplicate changes nothing)
    no message has that upstream id, or the dispatcher still holds it
                                 kept `pending` and tried again: the receipt can beat the
                                 send's own outcome to the database; after `HOLD` seconds
                                 it becomes `unmatched`, kept and logged

An unknown upstream id is still answered 200: ClickSend and Dovecote both treat a 4xx as
a failed delivery of the webhook, and Dovecote pauses a rule after
`DOVECOTE_WEBHOOK_PAUSE_AFTER` dead letters in a row, so a 404 for one stray id would
end up stopping every receipt of the upstream account.
"""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from dovecote.core.errors import InvalidInput, NotFound
from dovecote.core.sealing import Sealer, SealError
from dovecote.pipeline.channel import Channel
from dovecote.pipeline.jobs import JobContext, JobFactory, PeriodicJob
from dovecote.pipeline.outcomes import Retry
from dovecote.pipeline.pushed import Pushed
from dovecote.pipeline.routing import store
from dovecote.pipeline.transports.base import Outcome
from dovecote.settings import Settings
from dovecote.storage.tables import message_connectors, provider_receipts

log = logging.getLogger("dovecote.http_transport")

PENDING, UNMATCHED = "pending", "unmatched"
HOLD = 600.0  # seconds a receipt waits for its message before it is set aside
INTERVAL = 1.0  # seconds between the worker's passes over the queue
_BATCH = 500


def receipt_outcome(code: int, error_text: Any, connector: str) -> Outcome:
    """A ClickSend receipt status code as an outcome (`deferred`: not final yet)."""
    detail = {"connector": connector, "upstream_status_code": code}
    if code == 201:
        return Outcome("delivered", detail=detail)
    if code < 300:
        return Outcome("deferred", error_text="upstream: not delivered yet", detail=detail)
    if code == 301:
        return Outcome(
            "expired", error_code=301, error_text=str(error_text or "Expired"), detail=detail
        )
    return Outcome(
        "failed", error_code=code, error_text=str(error_text or "Failed upstream"), detail=detail
    )


@dataclass(frozen=True, slots=True)
class Receipt:
    connector: str
    upstream_id: str  # the upstream's message id: our message's transport_ref
    status_code: int
    error_text: str | None


def parse(connector: str, fields: Mapping[str, Any]) -> Receipt:
    """A pushed receipt's fields (ClickSend's names); InvalidInput when unusable."""
    upstream_id = str(fields.get("message_id") or "").strip()
    if not upstream_id or len(upstream_id) > 200:
        raise InvalidInput("A receipt needs the message_id the upstream gave.", field="message_id")
    try:
        code = int(str(fields.get("status_code", "")).strip())
    except ValueError:
        raise InvalidInput("status_code must be a number.", field="status_code") from None
    if not 0 <= code <= 999:
        raise InvalidInput("status_code must be a ClickSend status code.", field="status_code")
    error = fields.get("error_text") or fields.get("status_text")
    return Receipt(connector, upstream_id, code, None if error is None else str(error)[:1000])


async def accept(
    conn: AsyncConnection,
    connector: str,
    token: str,
    fields: Mapping[str, Any],
    seal: Sealer,
    *,
    now: float | None = None,
) -> Receipt:
    """Check a pushed receipt's connector and token and queue it. A wrong name, a wrong
    token and a connector that does not take pushed receipts all answer the same
    NotFound, so the endpoint tells a guesser nothing."""
    missing = NotFound("No receipt endpoint here.")
    try:
        found = await store.get_connector(conn, connector)
    except NotFound:
        raise missing from None
    try:
        settings = store.open_settings(found.settings, seal)
    except SealError as exc:  # the key changed without DOVECOTE_SECRET_KEY_PREVIOUS
        log.error("connector %s: receipt token unreadable: %s", connector, exc)
        raise missing from None
    expected = str(settings.get("receipt_token") or "")
    if (
        found.transport != "http"
        or settings.get("receipts") != "push"
        or not expected
        or not hmac.compare_digest(expected.encode(), token.encode())
    ):
        raise missing
    receipt = parse(connector, fields)
    await conn.execute(
        provider_receipts.insert().values(
            connector=receipt.connector,
            upstream_id=receipt.upstream_id,
            status_code=receipt.status_code,
            error_text=receipt.error_text,
            state=PENDING,
            received_at=time.time() if now is None else now,
        )
    )
    return receipt


async def message_for(conn: AsyncConnection, receipt: Receipt) -> str | None:
    """Our message the connector handed over under this upstream id."""
    query = sa.select(message_connectors.c.message_id).where(
        message_connectors.c.transport_ref == receipt.upstream_id,
        message_connectors.c.connector == receipt.connector,
    )
    found = (await conn.execute(query.limit(1))).scalar()
    return None if found is None else str(found)


async def apply(pushed: Pushed, conn: AsyncConnection, receipt: Receipt) -> str:
    """ "applied"; "final" (a duplicate or an interim state: nothing to do); or "held"."""
    outcome = receipt_outcome(receipt.status_code, receipt.error_text, receipt.connector)
    if outcome.kind == "deferred":
        return "final"  # an interim state: the final receipt follows
    message_id = await message_for(conn, receipt)
    if message_id is None:
        return "held"
    return await pushed.apply(conn, message_id, outcome)


async def apply_pending(pushed: Pushed, *, hold: float = HOLD, now: float | None = None) -> int:
    """Apply the queued receipts, oldest first; returns how many changed a message."""
    moment = time.time() if now is None else now
    async with pushed.engine.connect() as conn:
        rows = (
            (
                await conn.execute(
                    sa.select(provider_receipts)
                    .where(provider_receipts.c.state == PENDING)
                    .order_by(provider_receipts.c.received_at, provider_receipts.c.id)
                    .limit(_BATCH)
                )
            )
            .mappings()
            .all()
        )
    applied = 0
    for row in rows:
        receipt = Receipt(
            row["connector"], row["upstream_id"], row["status_code"], row["error_text"]
        )
        where = provider_receipts.c.id == row["id"]
        async with pushed.engine.begin() as conn:
            result = await apply(pushed, conn, receipt)
            if result != "held":
                applied += result == "applied"
                await conn.execute(provider_receipts.delete().where(where))
            elif moment - float(row["received_at"]) >= hold:
                log.warning(
                    "receipt from connector %s for upstream message %r (status %d) matches "
                    "no message; kept as unmatched",
                    receipt.connector,
                    receipt.upstream_id,
                    receipt.status_code,
                )
                await conn.execute(provider_receipts.update().where(where).values(state=UNMATCHED))
    return applied


def job(channels: Sequence[Channel]) -> JobFactory:
    """The worker's periodic job applying pushed receipts (in `dovecote.wiring.JOBS`).
    Several workers may run it at once: a receipt applied twice is a duplicate the
    second time, so at worst it is deleted by both."""

    def factory(settings: Settings) -> PeriodicJob:
        specs = {channel.name: channel for channel in channels}

        async def run(context: JobContext) -> int:
            pushed = Pushed(context.engine, specs, Retry.from_settings(settings), context.events)
            return await apply_pending(pushed)

        return PeriodicJob(name="provider-receipts", interval=INTERVAL, run=run)

    return factory
