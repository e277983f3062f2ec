"""Retention: events per channel, the sandbox's renders, and SMPP deliveries left over.

`DOVECOTE_RETENTION_DAYS` maps a channel to the days its events are kept (SMS receipts
and replies' events, EmailVerify's `sent`/`approved`/… events). Email is not listed:
its events are Email Activity's, purged by that feature's own window
(`activity/retention.py`). A channel with no entry keeps its events. Deletes go in
bounded batches, so a backlog never holds SQLite's single writer for long, and running
the job on several workers at once deletes nothing twice.

The sandbox's renders (a voice call's WAV, a fax's TIFF and page PNGs, a letter's or
postcard's proof) are files, keyed by message id, kept `DOVECOTE_RENDER_RETENTION_DAYS`
after the message was accepted; the message and its history stay. The file store cannot
be listed, so the keys are derived from the messages, and a mark in the store itself
(`retention/renders.json`: the acceptance time up to which renders are gone) keeps each
run to the messages that aged out since the last one: without it every run would
delete every old message's keys again, forever (on S3, one request per key per run).
SMPP deliveries kept for the operator (`unmatched`, `unrouted`) go after
`DOVECOTE_SMPP_DELIVERY_RETENTION_DAYS`; `pending` ones are live and never purged here.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from dovecote.files.store import FileMissing, FileStore
from dovecote.pipeline.jobs import JobContext, PeriodicJob
from dovecote.pipeline.transports.smpp.receipts import UNMATCHED, UNROUTED
from dovecote.settings import Settings
from dovecote.storage.tables import accounts, events, messages, smpp_deliveries

log = logging.getLogger("dovecote.retention")

DAY = 86_400
BATCH = 5_000


async def purge_channel(
    engine: AsyncEngine, channel: str, days: int, *, now: float | None = None, batch: int = BATCH
) -> int:
    """Delete `channel`'s events older than `days`; returns how many."""
    before = (time.time() if now is None else now) - days * DAY
    where = sa.and_(events.c.channel == channel, events.c.occurred_at < before)
    return await _delete_oldest(engine, events, where, batch)


async def _delete_oldest(
    engine: AsyncEngine, table: sa.Table, where: sa.ColumnElement[bool], batch: int
) -> int:
    """Delete `table`'s rows that match `where`, at most `batch` a transaction, until
    none is left; returns how many. By id through a subquery: PostgreSQL's DELETE takes
    no LIMIT."""
    oldest = sa.select(table.c.id).where(where).limit(batch).scalar_subquery()
    statement = table.delete().where(table.c.id.in_(oldest))
    removed = 0
    while True:
        async with engine.begin() as conn:
            result = await conn.execute(statement)
        removed += result.rowcount
        if result.rowcount < batch:
            return removed


# The keys each channel's sandbox stores per message, given its id and `parts` (a fax's
# page count). They mirror the channels' own key functions (`channels.voice.sandbox.
# wav_key`, `channels.fax.sandbox.tiff_key`/`page_key`, `channels.post.proof.proof_key`),
# which this layer may not import; tests/pipeline/test_render_retention.py stores renders
# through those functions, so a key changed there and not here fails it. A letter's
# pages 2.. belong to its document (`post/pages/<digest>/…`, shared by every recipient),
# not to a message: they are not purged here.
RENDER_KEYS: dict[str, Callable[[str, int], list[str]]] = {
    "voice": lambda mid, _parts: [f"voice/{mid}.wav"],
    "fax": lambda mid, parts: [
        f"fax/{mid}.tiff",
        *(f"fax/{mid}/page-{page}.png" for page in range(1, parts + 1)),
    ],
    "post": lambda mid, _parts: [f"post/proofs/{mid}/1.png"],
    "postcards": lambda mid, _parts: [f"post/proofs/{mid}/{side}.png" for side in (1, 2)],
}
RENDER_MARK = "retention/renders.json"


async def _render_mark(files: FileStore) -> int:
    try:
        return int(json.loads(await files.get(RENDER_MARK))["before"])
    except (FileMissing, ValueError, KeyError, TypeError):
        return 0  # no mark (or an unreadable one): look at every message once


async def purge_renders(
    engine: AsyncEngine, files: FileStore, days: int, *, now: float | None = None, batch: int = 500
) -> int:
    """Delete the renders of messages accepted more than `days` ago that earlier runs
    have not covered; returns how many messages' renders were deleted. Two workers
    running it at once may delete the same keys twice: harmless, deletes are idempotent.
    Known gap: a message scheduled to go more than `days` after it was accepted is
    rendered after the mark has passed its acceptance time, so its render is kept."""
    before = int((time.time() if now is None else now) - days * DAY)
    since = await _render_mark(files)
    if since >= before:
        return 0
    async with engine.connect() as conn:
        account_ids = list((await conn.execute(sa.select(accounts.c.id))).scalars())
    removed = 0
    for account_id in account_ids:
        for channel, keys in RENDER_KEYS.items():
            # Per account and channel, so ix_messages_account_channel_created serves the
            # range; pages of `batch` rows keep memory flat over a long backlog.
            after: tuple[int, str] = (since - 1, "")
            while True:
                query = (
                    sa.select(messages.c.created_at, messages.c.id, messages.c.parts)
                    .where(
                        messages.c.account_id == account_id,
                        messages.c.channel == channel,
                        messages.c.created_at >= since,
                        messages.c.created_at < before,
                        sa.tuple_(messages.c.created_at, messages.c.id) > after,
                    )
                    .order_by(messages.c.created_at, messages.c.id)
                    .limit(batch)
                )
                async with engine.connect() as conn:
                    rows = (await conn.execute(query)).all()
                for _created_at, message_id, parts in rows:
                    for key in keys(message_id, int(parts or 0)):
                        await files.delete(key)
                removed += len(rows)
                if len(rows) < batch:
                    break
                after = (int(rows[-1][0]), str(rows[-1][1]))
    await files.put(RENDER_MARK, json.dumps({"before": before}).encode(), "application/json")
    return removed


async def purge_smpp_deliveries(
    engine: AsyncEngine, days: int, *, now: float | None = None, batch: int = BATCH
) -> int:
    """Delete unmatched and unrouted SMPP deliveries received more than `days` ago."""
    before = (time.time() if now is None else now) - days * DAY
    removed = 0
    for state in (UNMATCHED, UNROUTED):  # one state at a time: ix_smpp_deliveries_state
        where = sa.and_(smpp_deliveries.c.state == state, smpp_deliveries.c.received_at < before)
        removed += await _delete_oldest(engine, smpp_deliveries, where, batch)
    return removed


async def _run(ctx: JobContext) -> int:
    settings = ctx.settings
    removed = 0
    for channel, days in settings.retention_days.items():
        count = await purge_channel(ctx.engine, channel, days)
        if count:
            log.info("retention: deleted %d %s events older than %d days", count, channel, days)
        removed += count
    days = settings.render_retention_days
    count = await purge_renders(ctx.engine, ctx.files, days)
    if count:
        log.info("retention: deleted the renders of %d messages older than %d days", count, days)
    removed += count
    days = settings.smpp_delivery_retention_days
    count = await purge_smpp_deliveries(ctx.engine, days)
    if count:
        log.info("retention: deleted %d SMPP deliveries older than %d days", count, days)
    return removed + count  # events, messages whose renders went, SMPP deliveries


def job(settings: Settings) -> PeriodicJob:
    """The worker's periodic hook (listed in `dovecote.wiring.JOBS`)."""
    return PeriodicJob(
        name="event-retention", interval=settings.activity_retention_interval, run=_run
    )
