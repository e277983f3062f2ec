"""The email campaign fan-out: the campaign runner (`fanout.run_due`) on
`email_campaigns`, with a batch builder that queues one email per contact with an
address through the email channel's `queue_emails` (suppressions, charge, MIME — the same
path as `/v3/email/send`). Crash, resume and cancel behave as `fanout.py` describes.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from dovecote.campaigns import email
from dovecote.campaigns import email_store as store
from dovecote.campaigns.fanout import (
    LEASE,
    OWNER,
    Batch,
    Builder,
    Campaigns,
    Tally,
    run_due,
    runner,
)
from dovecote.channels.email.compose import DROPPED, queue_emails
from dovecote.contacts.service import Contact
from dovecote.core.models import Principal
from dovecote.pipeline.events import EventLog
from dovecote.pipeline.jobs import JobContext, PeriodicJob
from dovecote.pipeline.pricing import PriceBook
from dovecote.settings import Settings
from dovecote.storage.tables import email_campaigns


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
    """Claim and fan out due email campaigns until none is due; returns how many were
    claimed. `stop_after` batches per campaign: a worker that stops dead (what tests crash)."""
    campaigns = Campaigns(
        table=email_campaigns,
        label="Email campaign",
        builder=_email_builder(settings, events, prices),
    )
    return await run_due(
        engine, campaigns, owner=owner, lease=lease, batch=batch, now=now, stop_after=stop_after
    )


def _email_builder(settings: Settings, events: EventLog, prices: PriceBook) -> Builder:
    async def build(engine: AsyncEngine, row: RowMapping) -> Batch:
        campaign_id, account_id = int(row["id"]), int(row["account_id"])
        plan = email.plan_of(row)

        async def run_batch(
            conn: AsyncConnection, principal: Principal, contacts: Sequence[Contact], now: float
        ) -> Tally:
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
            return Tally(
                queued=len(items) - opted_out,
                opted_out=opted_out,
                refused=refused,
                price_micros=queued.total_price_micros if queued else 0,
            )

        return run_batch

    return build


async def _run(ctx: JobContext, prices: PriceBook) -> int:
    return await run_due_campaigns(
        ctx.engine, ctx.settings, ctx.events, prices, lease=ctx.settings.campaign_lease_seconds
    )


def job(settings: Settings) -> PeriodicJob:
    """The worker's periodic hook (listed in `dovecote.wiring.JOBS`)."""
    return runner(settings, "email-campaigns", _run)
