"""Monthly renewal of bought numbers: a periodic job every worker runs.

A number is paid for 30 days at a time (`numbers.paid_until`). When that passes, the job
debits the monthly price again and moves `paid_until` on by 30 days, both in one
transaction; if the balance does not cover it, the number is released back to the
inventory (its replies stop reaching the account, and it is for sale again). Several
workers may run the job at once: moving `paid_until` is a conditional UPDATE on the
value that was read, so each period is charged exactly once.
"""

from __future__ import annotations

import logging
import time
from typing import Final

from sqlalchemy.ext.asyncio import AsyncEngine

from dovecote.billing import ledger
from dovecote.numbers import inventory_store as store
from dovecote.numbers.inventory import MONTH
from dovecote.pipeline import queue
from dovecote.pipeline.jobs import JobContext, PeriodicJob
from dovecote.settings import Settings

log = logging.getLogger("dovecote.numbers")

BATCH: Final = 500
INTERVAL: Final = 3600.0


async def renew_due(engine: AsyncEngine, *, now: float | None = None) -> tuple[int, int]:
    """Charge every number whose paid period is over; returns (renewed, released)."""
    stamp = int(time.time() if now is None else now)
    renewed = released = 0
    while True:
        async with engine.connect() as conn:
            due = await store.due_renewals(conn, stamp, BATCH)
        for row in due:
            # One transaction per number: one account's empty balance never holds back
            # another's renewal, and each charge commits with its period.
            async with engine.begin() as conn:
                if not await store.extend(conn, row, int(row["paid_until"]) + MONTH):
                    continue  # another worker renewed it, or the owner changed
                if await queue.debit(
                    conn,
                    int(row["account_id"]),
                    int(row["price_monthly_micros"]),
                    kind=ledger.NUMBER_RENTAL,
                    reference=f"{row['number']}: renewal",
                ):
                    renewed += 1
                    continue
                await store.release(conn, int(row["id"]))
                released += 1
                log.info(
                    "number %s released: account %s could not pay", row["number"], row["account_id"]
                )
        if len(due) < BATCH:
            return renewed, released


async def _run(ctx: JobContext) -> tuple[int, int]:
    return await renew_due(ctx.engine)


def job(settings: Settings) -> PeriodicJob:
    """The worker's periodic hook (listed in `dovecote.wiring.JOBS`)."""
    return PeriodicJob(name="number-renewals", interval=INTERVAL, run=_run)
