"""The SMS campaign fan-out: workers claim due campaigns and queue their messages in
batches of contacts.

Each batch is one transaction: its messages are accepted through `pipeline.outbound`
(throttle, charge, queue — the same path as `/v3/sms/send`), and the campaign's
`cursor` (the last contact id done) and counters move with them, guarded by the lease.
A worker that dies loses at most its uncommitted batch; the next one resumes after
`cursor`, so every contact gets exactly one message. A cancel in between makes the
guard fail and the batch rolls back. Contacts added to the list after the campaign
was sent are not reached (`max_contact_id`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Final

from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncEngine

from dovecote.accounts import store as account_store
from dovecote.campaigns import links, mms, sms, store
from dovecote.channels.sms.audience import OPTED_OUT, skip_opted_out
from dovecote.contacts.service import Contact
from dovecote.core.models import Account, Principal
from dovecote.pipeline import outbound
from dovecote.pipeline.events import EventLog
from dovecote.pipeline.jobs import JobContext, PeriodicJob
from dovecote.pipeline.outbound import Outbound
from dovecote.pipeline.pricing import PriceBook
from dovecote.settings import Settings

log = logging.getLogger("dovecote.campaigns")

LEASE: Final = 120.0
INTERVAL: Final = 1.0
RETRY: Final = 30.0
OWNER: Final = f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class LeaseLost(Exception):
    """Another worker took the campaign over, or it was cancelled."""


async def run_due_campaigns(
    engine: AsyncEngine,
    settings: Settings,
    prices: PriceBook,
    *,
    owner: str = OWNER,
    lease: float = LEASE,
    batch: int = sms.BATCH,
    now: float | None = None,
    stop_after: int | None = None,
    events: EventLog | None = None,
) -> int:
    """Claim and fan out due campaigns until none is due; returns how many were claimed.
    `stop_after` batches per campaign: a worker that stops dead (what tests crash).
    With `events` (the worker's event log), queued messages write their `queued` events,
    so the statistics rollups count campaign traffic like any send."""
    claimed = 0
    while True:
        moment = time.time() if now is None else now
        async with engine.connect() as conn:
            if not await store.any_due(conn, now=moment):
                return claimed
        async with engine.begin() as conn:
            rows = await store.claim(conn, owner=owner, now=moment, lease=lease)
        if not rows:
            return claimed
        claimed += 1
        try:
            await _fan_out(
                engine, settings, prices, rows[0], owner=owner, lease=lease, batch=batch,
                stop_after=stop_after, events=events,
            )  # fmt: skip
        except LeaseLost:
            log.info("SMS campaign %s: lease lost or cancelled", rows[0]["id"])
        except asyncio.CancelledError:
            async with engine.begin() as conn:
                await store.release(conn, rows[0]["id"], owner, due_at=time.time())
            raise
        except Exception:
            log.exception("SMS campaign %s failed; retrying", rows[0]["id"])
            async with engine.begin() as conn:
                await store.release(conn, rows[0]["id"], owner, due_at=time.time() + RETRY)
        if stop_after is not None:
            return claimed


async def _fan_out(
    engine: AsyncEngine,
    settings: Settings,
    prices: PriceBook,
    row: RowMapping,
    *,
    owner: str,
    lease: float,
    batch: int,
    stop_after: int | None,
    events: EventLog | None = None,
) -> None:
    campaign_id, account_id = int(row["id"]), int(row["account_id"])
    build = _builder(row, prices)
    tag = store.source_tag(campaign_id, str(row["channel"]))
    cursor, bound, list_id = int(row["cursor"]), int(row["max_contact_id"]), int(row["list_id"])
    long_url: int | None = None
    if row["url_to_shorten"]:
        async with engine.connect() as conn:
            long_url = await links.long_url_id(conn, account_id, campaign_id)
    batches = 0
    while stop_after is None or batches < stop_after:
        batches += 1
        now = time.time()
        async with engine.begin() as conn:
            user = await account_store.get_user(conn, int(row["user_id"]))
            account = await account_store.get_account(conn, account_id)
            if user is None or account is None:
                # Its sender is gone (a deleted subaccount): nobody is left to charge.
                await store.cancel(conn, account_id, campaign_id)
                return
            principal = Principal(user=user, account=account)
            contacts = await sms.contacts_after(conn, account_id, list_id, cursor, bound, batch)
            if not contacts:
                if not await store.finish(conn, campaign_id, owner):
                    raise LeaseLost(campaign_id)
                return
            shortened = (
                links.Batch.new(long_url, settings.public_base(), contacts)
                if long_url is not None
                else None
            )
            items = build(contacts, account, now, tag, shortened.urls() if shortened else None)
            await skip_opted_out(conn, account_id, items)
            accepted = await outbound.accept(
                conn,
                principal,
                items,
                now=now,
                throttle_window=settings.sms_throttle_window,
                events=events,
            )
            if row["channel"] == mms.CHANNEL:
                await mms.attach(conn, row, accepted.items, int(now))
            if shortened is not None:
                await shortened.record(conn, account_id, items, int(now))
            opted_out = sum(1 for item in items if item.status == OPTED_OUT)
            cursor = contacts[-1].id
            if not await store.checkpoint(
                conn,
                campaign_id,
                owner,
                cursor=cursor,
                queued=len(accepted.queued),
                opted_out=opted_out,
                refused=len(items) - len(accepted.queued) - opted_out,
                price_micros=accepted.total_price_micros,
                until=time.time() + lease,
            ):
                raise LeaseLost(campaign_id)  # rolls the batch back: charge and messages


Build = Callable[[Sequence[Contact], Account, float, str, Sequence[str] | None], list[Outbound]]


def _builder(row: RowMapping, prices: PriceBook) -> Build:
    """How a batch of contacts becomes composed messages, per the campaign's channel."""
    if row["channel"] == mms.CHANNEL:
        mms_plan = mms.draft_of_row(row, time.time())
        key = str(row["media_key"])

        def mms_items(
            contacts: Sequence[Contact],
            account: Account,
            now: float,
            tag: str,
            short_urls: Sequence[str] | None,
        ) -> list[Outbound]:
            return mms.items_for(
                mms_plan, contacts, account, prices, now=now, source=tag, media_key=key
            )

        return mms_items
    plan = sms.draft(
        {
            "list_id": row["list_id"],
            "name": row["name"],
            "from": row["sender"],
            "body": row["body"],
            "custom_string": row["custom_string"],
            "source": row["source"],
            "url_to_shorten": row["url_to_shorten"],
            "senders": [
                {"recipient_country_code": country, "sender_id": sender}
                for country, sender in (row["senders"] or {}).items()
            ],
        },
        time.time(),
    )

    def sms_items(
        contacts: Sequence[Contact],
        account: Account,
        now: float,
        tag: str,
        short_urls: Sequence[str] | None,
    ) -> list[Outbound]:
        return sms.items_for(
            plan, contacts, account, prices, now=now, source=tag, short_urls=short_urls
        )

    return sms_items


class _Runner:
    """Runs the fan-out as a task of its own, so a big campaign never holds up the worker
    loop (message dispatch); one at a time per worker process."""

    def __init__(self, settings: Settings) -> None:
        self._prices = PriceBook.load(settings.prices_file)
        self._task: asyncio.Task[int] | None = None

    async def __call__(self, ctx: JobContext) -> None:
        if self._task is not None and not self._task.done():
            return
        self._task = asyncio.create_task(self._guarded(ctx), name="dovecote-sms-campaigns")

    async def _guarded(self, ctx: JobContext) -> int:
        try:
            return await run_due_campaigns(
                ctx.engine,
                ctx.settings,
                self._prices,
                events=ctx.events,
                lease=ctx.settings.campaign_lease_seconds,
            )
        except Exception:
            log.exception("SMS campaigns could not run")
            return 0

    async def close(self) -> None:
        if self._task is None or self._task.done():
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


def job(settings: Settings) -> PeriodicJob:
    """The worker's periodic hook (listed in `dovecote.wiring.JOBS`)."""
    runner = _Runner(settings)
    return PeriodicJob(name="sms-campaigns", interval=INTERVAL, run=runner, close=runner.close)
