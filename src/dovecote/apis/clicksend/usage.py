"""`/v3/account/usage/{year}/{month}/{type}`: the spec's general form of the usage report.

`subaccount` (also routed literally in `account.py`, SDK 6's path) and `email`, the two
types the spec names, answer the same per-subaccount report.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path
from fastapi.responses import JSONResponse

from dovecote.accounts import service as accounts
from dovecote.accounts import usage
from dovecote.apis.clicksend.envelope import envelope
from dovecote.apis.deps import Conn, CurrentPrincipal, RuntimeDep

router = APIRouter(tags=["Account"])


@router.get("/account/usage/{year}/{month}/{type}", summary="Account Usage")
async def account_usage(
    year: Annotated[int, Path(ge=2000, le=2100)],
    month: Annotated[int, Path(ge=1, le=12)],
    type: Annotated[Literal["subaccount", "email"], Path()],
    principal: CurrentPrincipal,
    conn: Conn,
    runtime: RuntimeDep,
) -> JSONResponse:
    accounts.require(principal, "access_reporting")
    data = await usage.by_subaccount(conn, principal, year, month)
    data["_currency"] = runtime.prices.currency_info(principal.account.currency)
    return envelope(data, "Here is your usage for this month.")
