"""`/v3/sms-campaigns`: price, send, list, read, change and cancel SMS campaigns."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Request
from fastapi.responses import JSONResponse

from dovecote.apis.clicksend.envelope import envelope
from dovecote.apis.clicksend.listing import ListParams, render_page
from dovecote.apis.deps import Conn, CurrentPrincipal, RuntimeDep, client_ip
from dovecote.campaigns import sms as campaigns
from dovecote.core.errors import InvalidInput

router = APIRouter(tags=["SMS Campaigns"])

CampaignId = Annotated[int, Path(ge=1, le=2**31 - 1)]
JsonBody = Annotated[Any, Body()]


def _object(body: Any) -> dict[str, Any]:
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise InvalidInput("The body must be a JSON object.")
    return body


def campaign(row: Mapping[Any, Any], counts: Mapping[str, int] | None = None) -> dict[str, Any]:
    """SDK 6.0.2's SmsCampaign, plus Dovecote's progress (`_queued`, `_opted_out` …)."""
    rendered = {
        "sms_campaign_id": row["id"],
        "name": row["name"],
        "user_id": row["user_id"],
        "subaccount_id": row["user_id"],
        "list_id": row["list_id"],
        "from": row["sender"],
        "body": row["body"],
        "schedule": row["schedule"],
        "status": row["status"],
        "date_added": row["created_at"],
        "custom_string": row["custom_string"],
        "url_to_shorten": row["url_to_shorten"],
        "unsubscribe_link": 0,
        "source": row["source"],
        "senders": [
            {"recipient_country_code": country, "sender_id": sender}
            for country, sender in (row["senders"] or {}).items()
        ],
        "ip_address": row["ip_address"],
        "total_count": row["queued"],
        "_total_count": row["queued"],
        "list_name": row["list_name"],
        "_queued": row["queued"],
        "_opted_out": row["opted_out"],
        "_refused": row["refused"],
        "_charged": campaigns.total_price(row["price_micros"]),
    }
    if counts is not None:
        rendered["_messages"] = dict(counts)
    return rendered


@router.get("/sms-campaigns", summary="Get list of SMS Campaigns")
async def list_campaigns(
    request: Request, params: ListParams, principal: CurrentPrincipal, conn: Conn
) -> JSONResponse:
    page = await campaigns.page(conn, principal, params)
    return envelope(render_page(page, request, campaign), "Here are your SMS campaigns.")


@router.post("/sms-campaigns/price", summary="Calculate price for SMS Campaign")
async def price_campaign(
    principal: CurrentPrincipal, conn: Conn, runtime: RuntimeDep, body: JsonBody = None
) -> JSONResponse:
    priced = await campaigns.price(
        conn,
        principal,
        runtime.prices,
        _object(body),
        public_url=runtime.settings.public_base(),
    )
    data = {
        "total_count": priced.count,
        "total_price": campaigns.total_price(priced.total_micros),
        "data": {
            "from": priced.plan.sender,
            "body": priced.plan.body,
            "schedule": priced.plan.schedule,
        },
        "_currency": runtime.prices.currency_info(principal.account.currency),
    }
    return envelope(data, "Here are some results.")


@router.post("/sms-campaigns/send", summary="Create an SMS Campaign")
async def send_campaign(
    request: Request, principal: CurrentPrincipal, conn: Conn, body: JsonBody = None
) -> JSONResponse:
    row = await campaigns.send(conn, principal, _object(body), ip=client_ip(request))
    return envelope(campaign(row), "SMS campaign has been queued.")


@router.get("/sms-campaigns/{sms_campaign_id}", summary="Get an SMS Campaign")
async def get_campaign(
    sms_campaign_id: CampaignId, principal: CurrentPrincipal, conn: Conn
) -> JSONResponse:
    row = await campaigns.get(conn, principal, sms_campaign_id)
    counts = await campaigns.counts(conn, principal, sms_campaign_id)
    return envelope(campaign(row, counts), "Here is your SMS campaign.")


@router.put("/sms-campaigns/{sms_campaign_id}", summary="Update an SMS Campaign")
async def update_campaign(
    sms_campaign_id: CampaignId, principal: CurrentPrincipal, conn: Conn, body: JsonBody = None
) -> JSONResponse:
    row = await campaigns.update(conn, principal, sms_campaign_id, _object(body))
    return envelope(campaign(row), "SMS campaign has been updated.")


@router.put("/sms-campaigns/{sms_campaign_id}/cancel", summary="Cancel an SMS Campaign")
async def cancel_campaign(
    sms_campaign_id: CampaignId, principal: CurrentPrincipal, conn: Conn
) -> JSONResponse:
    row = await campaigns.cancel(conn, principal, sms_campaign_id)
    return envelope(campaign(row), "SMS campaign has been cancelled.")
