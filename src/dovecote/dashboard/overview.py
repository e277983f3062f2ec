"""Overview: messages per day by channel (a uPlot chart), spend per day (a second chart,
in the account's currency, with the period's total), balance, delivery rate and the
latest failures, for the last 7, 30 or 90 days.

Everything comes from the statistics rollups (`statistics.report.series`, the reads
behind `/v3/statistics/*`), never from a scan of history, so it costs the same with a
million messages; the latest failures are one keyset page. Like the API's statistics it
takes `access_reporting`; without it `/` opens the sandbox phone instead.
"""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response

from dovecote.core.money import from_micros
from dovecote.dashboard import guard, store, web
from dovecote.dashboard.messages import CHANNELS, FLAG
from dovecote.pipeline import status
from dovecote.pipeline.scope import Scope
from dovecote.statistics import report

router = APIRouter(include_in_schema=False, route_class=guard.PageRoute)

PERIODS = (7, 30, 90)
FAILURES = 10
_UNDELIVERED = frozenset({status.FAILED, status.EXPIRED})


@router.get("/")
async def overview(
    request: Request, who: guard.SignedIn, days: Annotated[int, Query(ge=1, le=366)] = 30
) -> Response:
    if not who.can(FLAG):
        return RedirectResponse("/phone", status_code=303)
    days = days if days in PERIODS else 30
    account = who.principal.account
    start, end = report.window(None, None)
    start = end - days * 86400
    async with web.runtime_of(request).engine.connect() as conn:
        series = [await report.series(conn, account.id, name, start, end) for name in CHANNELS]
        failures, _ = await store.list_messages(
            conn, Scope(account.id), store.Filter(status=status.FAILED)
        )
    totals = {s.channel: sum(t.count for t in s.totals.values()) for s in series}
    spend = sum(t.price_micros for s in series for t in s.totals.values())
    delivered = sum(
        s.totals[status.DELIVERED].count for s in series if status.DELIVERED in s.totals
    )
    undelivered = sum(
        tally.count for s in series for name, tally in s.totals.items() if name in _UNDELIVERED
    )
    finished = delivered + undelivered
    dates = [day.date for day in series[0].days] if series else []
    chart = {
        "x": dates,
        "series": [
            {
                "label": s.channel,
                "values": [sum(t.count for t in d.statuses.values()) for d in s.days],
            }
            for s in series
            if totals[s.channel]
        ],
    }
    # The same charges as the Spend tile, day by day: what the rollups priced, every
    # channel and status together (a refund shows as the day's lower figure).
    daily = [
        sum(t.price_micros for s in series for t in s.days[i].statuses.values())
        for i in range(len(dates))
    ]
    spend_chart = {
        "x": dates,
        "unit": account.currency,
        "series": [
            {
                "label": f"spend ({account.currency})",
                "values": [float(from_micros(m)) for m in daily],
            }
        ]
        if spend
        else [],
    }
    return web.render(
        request,
        who,
        "overview.html",
        {
            "days": days,
            "periods": PERIODS,
            "totals": totals,
            "spend": spend,
            "balance": account.balance_micros,
            "currency": account.currency,
            "rate": f"{100 * delivered / finished:.1f} %" if finished else "–",
            "failures": failures[:FAILURES],
            "chart_json": json.dumps(chart),
            "spend_json": json.dumps(spend_chart),
            "spend_days": [
                (date, micros) for date, micros in zip(dates, daily, strict=True) if micros
            ],
            "statuses": {s.channel: s.totals for s in series if totals[s.channel]},
        },
        title="Overview",
    )
