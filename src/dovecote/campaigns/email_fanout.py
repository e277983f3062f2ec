"""The email campaign fan-out: workers claim due campaigns and queue their emails in
batches of contacts, exactly as the SMS fan-out (`fanout.py`) does with messages.

Each batch is one transaction: its messages are accepted through `pipeline.outbound`
(`queue_emails`: suppressions, charge, MIME — the same path as `/v3/email/send`), and the campaign's
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
from typing import Final

from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncEngine

from dovecote.accounts import store as account_store
from dovecote.campaigns import email
from dovecote.campaigns import email_store as store
from dovecote.campaigns.sms import contacts_after
from dovecote.channels.email.compose import DROPPED, queue_emails
from dovecote.contacts.service import Contact
from dovecote.core.errors import DomainError
from dovecote.core.models import Principal
from dovecote.pipeline.events import EventLog
from dovecote.pipeline.jobs import JobContext, PeriodicJob
from dovecote.pipeline.pricing import PriceBook
from dovecote.settings import Settings

log = logging.getLogger("dovecote.campaigns.email")

LEASE: Final = 120.0
INTERVAL: Final = 1.0
RETRY: Final = 30.0
OWNER: Final = f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class LeaseLost(Exception):
    """Another worker took the campaign over, or it was cancelled."""


async def run_due_campaigns(
    engine: AsyncEngine,
    settings: Settings,
    events: EventLog,
    prices: PriceBook,
    *,
    owner: str = OWNER,
    lease: float = LEASE,
    batch: int = email.BATCH,
    now: float | None = None,
    stop_after: int | None = None,
) -> int:
    """Claim and fan out due campaigns until none is due; returns how many were claimed.
    `stop_after` batches per campaign: a worker that stops dead (what tests crash)."""
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
                engine, settings, events, prices, rows[0], owner=owner, lease=lease, batch=batch,
                stop_after=stop_after,
            )  # fmt: skip
        except LeaseLost:
            log.info("Email campaign %s: lease lost or cancelled", rows[0]["id"])
        except asyncio.CancelledError:
            async with engine.begin() as conn:
                await store.release(conn, rows[0]["id"], owner, due_at=time.time())
            raise
        except DomainError as exc:
            # Out of credit, the sender address unverified since, a suspended account: the
            # batch rolled back and the campaign waits (status Sending) until it is fixed
            # or cancelled.
            log.warning("Email campaign %s waits: %s", rows[0]["id"], exc)
            async with engine.begin() as conn:
                await store.release(conn, rows[0]["id"], owner, due_at=time.time() + RETRY)
        except Exception:
            log.exception("Email campaign %s failed; retrying", rows[0]["id"])
            async with engine.begin() as conn:
                await store.release(conn, rows[0]["id"], owner, due_at=time.time() + RETRY)
        if stop_after is not None:
            return claimed


async def _fan_out(
    engine: AsyncEngine,
    settings: Settings,
    events: EventLog,
    prices: PriceBook,
    row: RowMapping,
    *,
    owner: str,
    lease: float,
    batch: int,
    stop_after: int | None,
) -> None:
    campaign_id, account_id = int(row["id"]), int(row["account_id"])
    plan = email.plan_of(row)
    cursor, bound = int(row["cursor"]), int(row["max_contact_id"])
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
            contacts: list[Contact] = await contacts_after(
                conn, account_id, plan.list_id, cursor, bound, batch
            )
            if not contacts:
                if not await store.finish(conn, campaign_id, owner):
                    raise LeaseLost(campaign_id)
                return
            # Checked again per batch: an address unverified or deleted since stops it.
            from_box = await email.sender(
                conn, principal, plan.from_email_address_id, plan.from_name
            )
            drafts, refused = email.emails_for(
                plan, contacts, from_box, settings,
                account_id=account_id, campaign_id=campaign_id, now=now,
            )  # fmt: skip
            queued = await queue_emails(
                conn, principal, drafts, settings=settings, events=events, prices=prices,
                now=now, source=store.source_tag(campaign_id),
            ) if drafts else None  # fmt: skip
            items = [i for group in queued.emails for i in group.recipients] if queued else []
            opted_out = sum(1 for item in items if item.status == DROPPED)
            cursor = contacts[-1].id
            if not await store.checkpoint(
                conn,
                campaign_id,
                owner,
                cursor=cursor,
                queued=len(items) - opted_out,
                opted_out=opted_out,
                refused=refused,
                price_micros=queued.total_price_micros if queued else 0,
                until=time.time() + lease,
            ):
                raise LeaseLost(campaign_id)  # rolls the batch back: charge and emails


class _Runner:
    """Runs the fan-out as a task of its own, so a big campaign never holds up the worker
    loop (message dispatch); one at a time per worker process."""

    def __init__(self, settings: Settings) -> None:
        self._prices = PriceBook.load(settings.prices_file)
        self._task: asyncio.Task[int] | None = None

    async def __call__(self, ctx: JobContext) -> None:
        if self._task is not None and not self._task.done():
            return
        self._task = asyncio.create_task(self._guarded(ctx), name="dovecote-email-campaigns")

    async def _guarded(self, ctx: JobContext) -> int:
        try:
            return await run_due_campaigns(
                ctx.engine,
                ctx.settings,
                ctx.events,
                self._prices,
                lease=ctx.settings.campaign_lease_seconds,
            )
        except Exception:
            log.exception("Email campaigns could not run")
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
    return PeriodicJob(name="email-campaigns", interval=INTERVAL, run=runner, close=runner.close)
