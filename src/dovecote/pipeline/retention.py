"""Event retention per channel: delete events older than the channel's policy.

`DOVECOTE_RETENTION_DAYS` maps a channel to the days its events are kept (SMS receipts
and replies' events, EmailVerify's `sent`/`approved`/… events). Email is not listed:
its events are Email Activity's, purged by that feature's own window
(`activity/retention.py`). A channel with no entry keeps its events. Deletes go in
bounded batches, so a backlog never holds SQLite's single writer for long, and running
the job on several workers at once deletes nothing twice.
"""

from __future__ import annotations

import logging
import time

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from dovecote.pipeline.jobs import JobContext, PeriodicJob
from dovecote.settings import Settings
from dovecote.storage.tables import events

log = logging.getLogger("dovecote.retention")

DAY = 86_400
BATCH = 5_000


async def purge_channel(
    engine: AsyncEngine, channel: str, days: int, *, now: float | None = None, batch: int = BATCH
) -> int:
    """Delete `channel`'s events older than `days`; returns how many."""
    before = (time.time() if now is None else now) - days * DAY
    removed = 0
    while True:
        oldest = (
            sa.select(events.c.id)
            .where(events.c.channel == channel, events.c.occurred_at < before)
            .limit(batch)
            .scalar_subquery()
        )
        async with engine.begin() as conn:
            result = await conn.execute(events.delete().where(events.c.id.in_(oldest)))
        removed += result.rowcount
        if result.rowcount < batch:
            return removed


async def _run(ctx: JobContext) -> int:
    removed = 0
    for channel, days in ctx.settings.retention_days.items():
        count = await purge_channel(ctx.engine, channel, days)
        if count:
            log.info("retention: deleted %d %s events older than %d days", count, channel, days)
        removed += count
    return removed


def job(settings: Settings) -> PeriodicJob:
    """The worker's periodic hook (listed in `dovecote.wiring.JOBS`)."""
    return PeriodicJob(
        name="event-retention", interval=settings.activity_retention_interval, run=_run
    )
