"""`GET /v3/referral/accounts`: the accounts that signed up on the caller's public
reseller page (`POST /v3/reseller/accounts-public`). Dovecote runs no other referral
scheme, so an account that does not resell has none; `percentage_referral` is the
reseller's margin on what the referred account spends."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from dovecote.apis.clicksend.envelope import envelope
from dovecote.apis.clicksend.listing import ListParams, render_page
from dovecote.apis.deps import Conn, CurrentPrincipal
from dovecote.pipeline.pricing import MARGIN_KEY
from dovecote.reseller import clients
from dovecote.reseller.store import split

router = APIRouter(tags=["Referral Accounts"])


def _referral(row: Any) -> dict[str, Any]:
    user, account = split(row)
    margin = Decimal(int(account.settings.get(MARGIN_KEY) or 0)) / 100
    return {
        "referral_rule_id": account.id,
        "refered_user_id": user.id,  # sic: ClickSend's spelling
        "date_referred": row["reseller_clients_created_at"],
        "percentage_referral": int(margin) if margin == int(margin) else float(margin),
    }


@router.get("/referral/accounts", summary="Get List of Referral Accounts")
@router.get("/referral/accounts/", include_in_schema=False)  # SDK 6.0.2's spelling
async def list_referrals(
    request: Request, params: ListParams, principal: CurrentPrincipal, conn: Conn
) -> JSONResponse:
    page = await clients.list_referrals(conn, principal, params)
    return envelope(render_page(page, request, _referral), "Here are your referrals.")
