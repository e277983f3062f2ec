"""`/dovecote/statistics/{channel}` (Dovecote-only): counts and cost by day and status.

Every channel's rollups, in ClickSend's envelope; `date_from`/`date_to` are Unix seconds
(whole UTC days; default: the last 30 days).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import JSONResponse

from dovecote.accounts import service as accounts
from dovecote.apis.clicksend.envelope import envelope
from dovecote.apis.deps import Conn, CurrentPrincipal, RuntimeDep
from dovecote.core.money import from_micros
from dovecote.statistics import report
from dovecote.statistics.report import Tally

router = APIRouter(prefix="/dovecote", tags=["Statistics"])

ChannelName = Annotated[str, Path(pattern=r"^[a-z][a-z0-9_]{0,15}$")]
Moment = Annotated[int | None, Query(ge=0, le=2**40)]


def _tally(tally: Tally) -> dict[str, Any]:
    return {"count": tally.count, "price": float(from_micros(tally.price_micros))}


@router.get(
    "/statistics/{channel}",
    summary="Messages and their cost by day and status, for one channel",
    description=(
        "Read from rollups kept current as events are written, never from the message "
        "history. Statuses: queued, sent, delivered, failed, expired, dropped, cancelled "
        "(refunded, price 0). Days are UTC, counted on the day a message was accepted."
    ),
)
async def channel_statistics(
    channel: ChannelName,
    principal: CurrentPrincipal,
    conn: Conn,
    runtime: RuntimeDep,
    date_from: Moment = None,
    date_to: Moment = None,
) -> JSONResponse:
    accounts.require(principal, "access_reporting")
    start, end = report.window(date_from, date_to)
    series = await report.series(conn, principal.account.id, channel, start, end)
    days = [
        {
            "date": day.date,
            **_tally(day.tally(frozenset(day.statuses))),
            "statuses": {status: _tally(tally) for status, tally in sorted(day.statuses.items())},
        }
        for day in series.days
    ]
    total = Tally()
    for tally in series.totals.values():
        total.add(tally.count, tally.price_micros)
    data = {
        "channel": channel,
        "date_from": start,
        "date_to": end - 1,
        "days": days,
        "total": {
            **_tally(total),
            "statuses": {s: _tally(t) for s, t in sorted(series.totals.items())},
        },
        "_currency": runtime.prices.currency_info(principal.account.currency),
    }
    return envelope(data, f"Here are your {channel} statistics.")
