"""Email Activity retention: the history window each account sees, and the purge that
deletes what has left it.

An account sees `activity_history_days` (2) of email activity; with the "extended
history" option (`accounts.settings["email_activity_extended"]`) it sees
`activity_extended_days` (60). Reads filter on the window themselves, so what is older
is invisible at once; the purge only reclaims the space, whenever it next runs.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from dovecote.activity import export as activity_export
from dovecote.activity import store
from dovecote.pipeline.jobs import JobContext, PeriodicJob
from dovecote.settings import Settings

log = logging.getLogger("dovecote.retention")

EXTENDED_OPTION = "email_activity_extended"
DAY = 86_400
# Rows per DELETE: small enough that one transaction never holds SQLite's single
# writer (or PostgreSQL row locks) for long, large enough that a backlog clears quickly.
BATCH = 5_000


def has_extended_history(account_settings: Mapping[str, Any]) -> bool:
    return account_settings.get(EXTENDED_OPTION) is True


def history_days(account_settings: Mapping[str, Any], settings: Settings) -> int:
    if has_extended_history(account_settings):
        return settings.activity_extended_days
    return settings.activity_history_days


def window_start(account_settings: Mapping[str, Any], settings: Settings, now: float) -> float:
    """Unix time before which an account's email activity is invisible and purgeable."""
    return now - history_days(account_settings, settings) * DAY


@dataclass(frozen=True, slots=True)
class Purged:
    messages: int = 0
    events: int = 0


async def purge_expired(
    engine: AsyncEngine, settings: Settings, *, now: float | None = None, batch: int = BATCH
) -> Purged:
    """Delete every account's email activity older than its window, in short transactions.

    Safe to run from several workers at once: each DELETE removes only rows that are
    expired, so a second runner finds less to do, never something wrong to do.
    """
    moment = time.time() if now is None else now
    async with engine.connect() as conn:
        owners = await store.account_settings(conn)
    messages = events = 0
    for account_id, account_settings in owners:
        before = window_start(account_settings, settings, moment)
        messages += await _drain(engine, store.purge_messages, account_id, before, batch)
        events += await _drain(engine, store.purge_events, account_id, before, batch)
    if messages or events:
        log.info("retention purged %d messages and %d email events", messages, events)
    return Purged(messages=messages, events=events)


async def _drain(
    engine: AsyncEngine,
    purge: Callable[[AsyncConnection, int, float, int], Awaitable[int]],
    account_id: int,
    before: float,
    batch: int,
) -> int:
    total = 0
    while True:
        async with engine.begin() as conn:
            deleted = await purge(conn, account_id, before, batch)
        total += deleted
        if deleted < batch:
            return total


async def _run(ctx: JobContext) -> Purged:
    # Expired CSV downloads go too (rows and files); their links stopped working then.
    await activity_export.purge_expired(ctx.engine, ctx.settings, ctx.files)
    return await purge_expired(ctx.engine, ctx.settings)


def job(settings: Settings) -> PeriodicJob:
    """The worker's periodic hook (listed in `dovecote.wiring.JOBS`)."""
    return PeriodicJob(
        name="email-activity-retention", interval=settings.activity_retention_interval, run=_run
    )
