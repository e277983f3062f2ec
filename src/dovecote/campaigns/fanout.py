"""The campaign fan-out: workers claim due campaigns and queue their messages in
batches of contacts. One runner (`run_due`) serves every campaign table; a builder per
channel turns a batch of contacts into queued messages (SMS and MMS here, email in
`email_fanout.py`).

Each batch is one transaction: its messages are accepted through `pipeline.outbound`
(throttle, charge, queue — the same path as `/v3/sms/send`; email's `queue_emails`), and the campaign's
`cursor` (the last contact id done) and counters move with them, guarded by the lease.
A worker that dies loses at most its uncommitted batch; the next one resumes after
`cursor`, so every contact gets exactly one message. A cancel in between makes the
guard fail and the batch rolls back. Contacts added to the list after the campaign
was sent are not reached (`max_contact_id`).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Final

import sqlalchemy as sa
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from dovecote.accounts import store as account_store
from dovecote.campaigns import links, mms, sms, store
from dovecote.channels.sms.audience import OPTED_OUT, skip_opted_out
from dovecote.contacts.service import Contact
from dovecote.core.errors import DomainError
from dovecote.core.models import Account, Principal
from dovecote.pipeline import leased, outbound
from dovecote.pipeline.events import EventLog
from dovecote.pipeline.jobs import JobContext, PeriodicJob
from dovecote.pipeline.outbound import Outbound
from dovecote.pipeline.pricing import PriceBook
from dovecote.settings import Settings
from dovecote.storage.tables import sms_campaigns

log = logging.getLogger("dovecote.campaigns")

LEASE: Final = 120.0
INTERVAL: Final = 1.0
RETRY: Final = 30.0
OWNER: Final = f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class LeaseLost(Exception):
    """Another worker took the campaign over, or it was cancelled."""


@dataclass(frozen=True, slots=True)
class Tally:
    """What one batch of contacts did, for the campaign's counters."""

    queued: int
    opted_out: int
    refused: int
    price_micros: int


# One batch: queue the contacts' messages on `conn` (the batch's transaction) and count.
Batch = Callable[[AsyncConnection, Principal, Sequence[Contact], float], Awaitable[Tally]]
# How a claimed campaign row's batches are built (per channel: SMS, MMS, email).
Builder = Callable[[AsyncEngine, RowMapping], Awaitable[Batch]]


@dataclass(frozen=True, slots=True)
class Campaigns:
    """One campaign table the runner claims from: its label for logs and its builder."""

    table: sa.Table
    label: str
    builder: Builder


async def run_due_campaigns(
    engine: AsyncEngine,
    settings: Settings,
    events: EventLog,
    prices: PriceBook,
    *,
    owner: str = OWNER,
    lease: float = LEASE,
    batch: int = sms.BATCH,
    now: float | None = None,
    stop_after: int | None = None,
) -> int:
    """Claim and fan out due SMS and MMS campaigns until none is due; returns how many
    were claimed. `stop_after` batches per campaign: a worker that stops dead (what tests
    crash). Queued messages write their `queued` events to `events` (the worker's event
    log), so the statistics rollups count campaign traffic like any send."""
    campaigns = Campaigns(
        table=sms_campaigns, label="SMS campaign", builder=_text_builder(settings, prices, events)
    )
    return await run_due(
        engine, campaigns, owner=owner, lease=lease, batch=batch, now=now, stop_after=stop_after
    )


async def run_due(
    engine: AsyncEngine,
    campaigns: Campaigns,
    *,
    owner: str = OWNER,
    lease: float = LEASE,
    batch: int,
    now: float | None = None,
    stop_after: int | None = None,
) -> int:
    """The one campaign runner: claim each due campaign of `campaigns.table`, fan it out,
    and release it on failure (retried after `RETRY`) or at once on a graceful stop."""
    table = campaigns.table

    async def any_due(conn: AsyncConnection, moment: float) -> bool:
        return await store.any_due(conn, now=moment, table=table)

    async def claim(conn: AsyncConnection, moment: float) -> list[RowMapping]:
        return await store.claim(conn, owner=owner, now=moment, lease=lease, table=table)

    async def work(row: RowMapping) -> None:
        try:
            await _fan_out(
                engine, campaigns, row, owner=owner, lease=lease, batch=batch,
                stop_after=stop_after,
            )  # fmt: skip
        except LeaseLost:
            log.info("%s %s: lease lost or cancelled", campaigns.label, row["id"])
        except asyncio.CancelledError:
            async with engine.begin() as conn:
                await store.release(conn, row["id"], owner, due_at=time.time(), table=table)
            raise
        except DomainError as exc:
            # Out of credit, an email sender address unverified since, a suspended account:
            # the batch rolled back and the campaign waits (status Sending) until it is
            # fixed or cancelled.
            log.warning("%s %s waits: %s", campaigns.label, row["id"], exc)
            async with engine.begin() as conn:
                await store.release(conn, row["id"], owner, due_at=time.time() + RETRY, table=table)
        except Exception:
            log.exception("%s %s failed; retrying", campaigns.label, row["id"])
            async with engine.begin() as conn:
                await store.release(conn, row["id"], owner, due_at=time.time() + RETRY, table=table)

    return await leased.drain(
        engine, any_due=any_due, claim=claim, work=work, now=now, once=stop_after is not None
    )


async def _fan_out(
    engine: AsyncEngine,
    campaigns: Campaigns,
    row: RowMapping,
    *,
    owner: str,
    lease: float,
    batch: int,
    stop_after: int | None,
) -> None:
    table = campaigns.table
    campaign_id, account_id = int(row["id"]), int(row["account_id"])
    run_batch = await campaigns.builder(engine, row)
    cursor, bound, list_id = int(row["cursor"]), int(row["max_contact_id"]), int(row["list_id"])
    batches = 0
    while stop_after is None or batches < stop_after:
        batches += 1
        now = time.time()
        async with engine.begin() as conn:
            user = await account_store.get_user(conn, int(row["user_id"]))
            account = await account_store.get_account(conn, account_id)
            if user is None or account is None:
                # Its sender is gone (a deleted subaccount): nobody is left to charge.
                await store.cancel(conn, account_id, campaign_id, table=table)
                return
            principal = Principal(user=user, account=account)
            contacts = await sms.contacts_after(conn, account_id, list_id, cursor, bound, batch)
            if not contacts:
                if not await store.finish(conn, campaign_id, owner, table=table):
                    raise LeaseLost(campaign_id)
                return
            tally = await run_batch(conn, principal, contacts, now)
            cursor = contacts[-1].id
            if not await store.checkpoint(
                conn,
                campaign_id,
                owner,
                cursor=cursor,
                queued=tally.queued,
                opted_out=tally.opted_out,
                refused=tally.refused,
                price_micros=tally.price_micros,
                until=time.time() + lease,
                table=table,
            ):
                raise LeaseLost(campaign_id)  # rolls the batch back: charge and messages


def _text_builder(settings: Settings, prices: PriceBook, events: EventLog) -> Builder:
    """SMS and MMS campaigns' batches: composed messages through `outbound.accept`."""

    async def build(engine: AsyncEngine, row: RowMapping) -> Batch:
        campaign_id, account_id = int(row["id"]), int(row["account_id"])
        compose = _composer(row, prices)
        tag = store.source_tag(campaign_id, str(row["channel"]))
        long_url: int | None = None
        if row["url_to_shorten"]:
            async with engine.connect() as conn:
                long_url = await links.long_url_id(conn, account_id, campaign_id)

        async def run_batch(
            conn: AsyncConnection, principal: Principal, contacts: Sequence[Contact], now: float
        ) -> Tally:
            shortened = (
                links.Batch.new(long_url, settings.public_base(), contacts)
                if long_url is not None
                else None
            )
            account = principal.account
            items = compose(contacts, account, now, tag, shortened.urls() if shortened else None)
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
            return Tally(
                queued=len(accepted.queued),
                opted_out=opted_out,
                refused=len(items) - len(accepted.queued) - opted_out,
                price_micros=accepted.total_price_micros,
            )

        return run_batch

    return build


Build = Callable[[Sequence[Contact], Account, float, str, Sequence[str] | None], list[Outbound]]


def _composer(row: RowMapping, prices: PriceBook) -> Build:
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


def runner(
    settings: Settings, name: str, run: Callable[[JobContext, PriceBook], Awaitable[int]]
) -> PeriodicJob:
    """A campaign kind's periodic job: its runner as a task of its own, with the price
    book loaded once per worker."""
    prices = PriceBook.load(settings.prices_file)

    async def run_all(ctx: JobContext) -> int:
        return await run(ctx, prices)

    return leased.TaskRunner(name, run_all).job(INTERVAL)


async def _run_text(ctx: JobContext, prices: PriceBook) -> int:
    return await run_due_campaigns(
        ctx.engine, ctx.settings, ctx.events, prices, lease=ctx.settings.campaign_lease_seconds
    )


def job(settings: Settings) -> PeriodicJob:
    """The worker's periodic hook (listed in `dovecote.wiring.JOBS`)."""
    return runner(settings, "sms-campaigns", _run_text)
