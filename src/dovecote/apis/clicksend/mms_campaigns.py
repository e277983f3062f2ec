"""`/v3/mms-campaigns`: price, send, list, read, change and cancel MMS campaigns.

The media file is fetched before a database connection is taken (the fetch may wait on
someone's server; SQLite has one connection), as `/v3/mms/send` does.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Request
from fastapi.responses import JSONResponse

from dovecote.accounts.service import require
from dovecote.apis.clicksend.envelope import envelope
from dovecote.apis.clicksend.listing import ListParams, render_page
from dovecote.apis.clicksend.mms import media_url
from dovecote.apis.clicksend.sms_campaigns import _object
from dovecote.apis.deps import Conn, CurrentPrincipal, DetachedPrincipal, RuntimeDep, client_ip
from dovecote.campaigns import mms as campaigns
from dovecote.campaigns.sms import total_price
from dovecote.channels.mms import media
from dovecote.core.models import Principal
from dovecote.runtime import Runtime

router = APIRouter(tags=["MMS Campaigns"])

CampaignId = Annotated[int, Path(ge=1, le=2**31 - 1)]
JsonBody = Annotated[Any, Body()]


def campaign(
    request: Request,
    runtime: Runtime,
    row: Mapping[Any, Any],
    counts: Mapping[str, int] | None = None,
) -> dict[str, Any]:
    """SDK 6.0.2's MmsCampaign, plus Dovecote's progress (`_queued`, `_opted_out` …)."""
    key = str(row["media_key"] or "")
    rendered = {
        "mms_campaign_id": row["id"],
        "name": row["name"],
        "user_id": row["user_id"],
        "subaccount_id": row["user_id"],
        "list_id": row["list_id"],
        "from": row["sender"],
        "subject": row["subject"],
        "file_name": key.rsplit("/", 1)[-1],
        "body": row["body"],
        "schedule": row["schedule"],
        "status": row["status"],
        "date_added": row["created_at"],
        "custom_string": row["custom_string"],
        "source": row["source"],
        "_total_count": row["queued"],
        "_list_name": row["list_name"],
        "_media_file_url": media_url(request, runtime, key) if key else None,
        "_queued": row["queued"],
        "_opted_out": row["opted_out"],
        "_refused": row["refused"],
        "_charged": total_price(row["price_micros"]),
    }
    if counts is not None:
        rendered["_messages"] = dict(counts)
    return rendered


async def _media(principal: Principal, runtime: Runtime, body: Mapping[str, Any]) -> media.Media:
    campaigns.draft(body, time.time())  # a bad field is answered before any fetch
    return await media.load(
        campaigns.media_url_of(body), store=runtime.files, settings=runtime.settings
    )


@router.get("/mms-campaigns", summary="Get list of MMS Campaigns")
async def list_campaigns(
    request: Request,
    params: ListParams,
    principal: CurrentPrincipal,
    conn: Conn,
    runtime: RuntimeDep,
) -> JSONResponse:
    page = await campaigns.page(conn, principal, params)
    return envelope(
        render_page(page, request, lambda row: campaign(request, runtime, row)),
        "Here are your MMS campaigns.",
    )


@router.post("/mms-campaigns/price", summary="Calculate price for MMS Campaign")
async def price_campaign(
    principal: DetachedPrincipal, runtime: RuntimeDep, body: JsonBody = None
) -> JSONResponse:
    _permitted(principal)
    values = _object(body)
    found = await _media(principal, runtime, values)
    async with runtime.engine.connect() as conn:
        priced = await campaigns.price(conn, principal, runtime.prices, values, found)
    data = {
        "total_count": priced.count,
        "total_price": total_price(priced.total_micros),
        "data": {
            "from": priced.plan.base.sender,
            "body": priced.plan.base.body,
            "schedule": str(priced.plan.base.schedule or ""),
        },
        "_currency": runtime.prices.currency_info(principal.account.currency),
    }
    return envelope(data, "Here are some results.")


@router.post("/mms-campaigns/send", summary="Create an MMS Campaign")
async def send_campaign(
    request: Request, principal: DetachedPrincipal, runtime: RuntimeDep, body: JsonBody = None
) -> JSONResponse:
    _permitted(principal)
    values = _object(body)
    found = await _media(principal, runtime, values)
    # Stored before the row naming it commits: a failed commit leaves an unnamed
    # content-addressed file, never a campaign naming nothing.
    await runtime.files.put(found.key, found.data, found.content_type)
    async with runtime.engine.begin() as conn:
        row = await campaigns.send(conn, principal, values, found, ip=client_ip(request))
    return envelope(campaign(request, runtime, row), "MMS campaign has been queued.")


@router.get("/mms-campaigns/{mms_campaign_id}", summary="Get an MMS Campaign")
async def get_campaign(
    request: Request,
    mms_campaign_id: CampaignId,
    principal: CurrentPrincipal,
    conn: Conn,
    runtime: RuntimeDep,
) -> JSONResponse:
    row = await campaigns.get(conn, principal, mms_campaign_id)
    counts = await campaigns.counts(conn, principal, mms_campaign_id)
    return envelope(campaign(request, runtime, row, counts), "Here is your MMS campaign.")


@router.put("/mms-campaigns/{mms_campaign_id}", summary="Update an MMS Campaign")
async def update_campaign(
    request: Request,
    mms_campaign_id: CampaignId,
    principal: DetachedPrincipal,
    runtime: RuntimeDep,
    body: JsonBody = None,
) -> JSONResponse:
    _permitted(principal)
    values = _object(body)
    found = None
    if values.get("media_file") is not None:
        async with runtime.engine.connect() as conn:
            current = await campaigns.get(conn, principal, mms_campaign_id)
        found = await _media(principal, runtime, campaigns.merged(current, values))
        await runtime.files.put(found.key, found.data, found.content_type)
    async with runtime.engine.begin() as conn:
        row = await campaigns.update(conn, principal, mms_campaign_id, values, found)
    return envelope(campaign(request, runtime, row), "MMS campaign has been updated.")


@router.put("/mms-campaigns/{mms_campaign_id}/cancel", summary="Cancel an MMS Campaign")
async def cancel_campaign(
    request: Request,
    mms_campaign_id: CampaignId,
    principal: CurrentPrincipal,
    conn: Conn,
    runtime: RuntimeDep,
) -> JSONResponse:
    row = await campaigns.cancel(conn, principal, mms_campaign_id)
    return envelope(campaign(request, runtime, row), "MMS campaign has been cancelled.")


def _permitted(principal: Principal) -> None:
    for flag in campaigns.PERMISSIONS:
        require(principal, flag)
