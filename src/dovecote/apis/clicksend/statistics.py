"""`/v3/statistics/sms` and `/v3/statistics/voice`: the last 30 days, from the rollups."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from dovecote.accounts import service as accounts
from dovecote.apis.clicksend.envelope import envelope
from dovecote.apis.deps import Conn, CurrentPrincipal, RuntimeDep
from dovecote.core.models import Principal
from dovecote.core.money import from_micros
from dovecote.statistics import report
from dovecote.statistics.report import Tally

router = APIRouter(tags=["Statistics"])


def _tally(tally: Tally, *, priced: bool = True) -> dict[str, Any]:
    if not priced:
        return {"count": tally.count}
    return {"count": tally.count, "price": float(from_micros(tally.price_micros))}


def _entry(outbound: Tally, bounced: Tally, inbound: Tally | None) -> dict[str, Any]:
    entry = {"outbound": _tally(outbound), "bounced": _tally(bounced, priced=False)}
    if inbound is not None:
        entry["inbound"] = _tally(inbound, priced=False)
    return entry


async def _statistics(
    conn: Conn, principal: Principal, runtime: RuntimeDep, channel: str, *, inbound: bool
) -> dict[str, Any]:
    accounts.require(principal, "access_reporting")
    start, end = report.window(None, None)
    series = await report.series(conn, principal.account.id, channel, start, end)
    stats = []
    totals = [Tally(), Tally(), Tally()]
    for day in series.days:
        parts = (
            day.tally(report.OUTBOUND),
            day.tally(report.BOUNCED),
            day.tally(report.INBOUND),
        )
        for total, part in zip(totals, parts, strict=True):
            total.add(part.count, part.price_micros)
        stats.append(
            {"date": day.date, **_entry(parts[0], parts[1], parts[2] if inbound else None)}
        )
    currency = runtime.prices.currency_info(principal.account.currency)
    return {
        # SDK 6.0.2 reads `stats` and `_currency`; the spec's examples say `stat` (SMS)
        # and `currency`. Both are answered, so either kind of client finds its field.
        "stats": stats,
        **({"stat": stats} if inbound else {}),
        "total": _entry(totals[0], totals[1], totals[2] if inbound else None),
        "_currency": currency,
        "currency": currency,
    }


@router.get("/statistics/sms", summary="Get SMS Statistics")
async def sms_statistics(
    principal: CurrentPrincipal, conn: Conn, runtime: RuntimeDep
) -> JSONResponse:
    data = await _statistics(conn, principal, runtime, "sms", inbound=True)
    return envelope(data, "Here are your data.")


@router.get("/statistics/voice", summary="Get Voice Statistics")
async def voice_statistics(
    principal: CurrentPrincipal, conn: Conn, runtime: RuntimeDep
) -> JSONResponse:
    data = await _statistics(conn, principal, runtime, "voice", inbound=False)
    return envelope(data, "Here are your statistics.")
