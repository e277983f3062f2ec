"""Reading the rollups: ClickSend's daily series and Dovecote's per-status view."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncConnection

from dovecote.core.errors import InvalidInput
from dovecote.statistics import store
from dovecote.statistics.store import DAY

# ClickSend's statistics cover the last 30 days, today included.
CLICKSEND_DAYS = 30
# The longest range one Dovecote read may cover (a little over ten years of days).
MAX_DAYS = 3700
# What ClickSend's `outbound` counts: every accepted message not cancelled; `bounced`:
# the ones that did not arrive.
OUTBOUND = frozenset({"queued", "sent", "delivered", "failed", "expired", "dropped"})
BOUNCED = frozenset({"failed", "expired", "dropped"})
# Inbound messages, once a channel records them with an accepting event.
INBOUND = frozenset({"received"})


@dataclass(slots=True)
class Tally:
    count: int = 0
    price_micros: int = 0

    def add(self, count: int, price_micros: int) -> None:
        self.count += count
        self.price_micros += price_micros


@dataclass(slots=True)
class Day:
    date: int
    statuses: dict[str, Tally] = field(default_factory=dict)

    def tally(self, statuses: frozenset[str]) -> Tally:
        total = Tally()
        for status, tally in self.statuses.items():
            if status in statuses:
                total.add(tally.count, tally.price_micros)
        return total


@dataclass(slots=True)
class Series:
    channel: str
    start: int
    end: int
    days: list[Day]
    totals: dict[str, Tally]


def window(date_from: int | None, date_to: int | None, now: float | None = None) -> tuple[int, int]:
    """[start, end) in whole UTC days: `date_to`'s day included (default today), from
    `date_from`'s day (default 29 days before it)."""
    today = store.day_of(time.time() if now is None else now)
    end = (today if date_to is None else store.day_of(date_to)) + DAY
    start = end - CLICKSEND_DAYS * DAY if date_from is None else store.day_of(date_from)
    if start >= end:
        raise InvalidInput("date_from must not be after date_to.", field="date_from")
    if (end - start) // DAY > MAX_DAYS:
        raise InvalidInput(f"A range may cover at most {MAX_DAYS} days.", field="date_from")
    return start, end


async def series(
    conn: AsyncConnection, account_id: int, channel: str, start: int, end: int
) -> Series:
    """One entry per day of [start, end), days without traffic included."""
    days = {moment: Day(moment) for moment in range(start, end, DAY)}
    totals: dict[str, Tally] = {}
    for day, status, count, price in await store.daily(conn, account_id, channel, start, end):
        days[day].statuses[status] = Tally(count, price)  # one row per (day, status)
        totals.setdefault(status, Tally()).add(count, price)
    return Series(channel, start, end, list(days.values()), totals)
