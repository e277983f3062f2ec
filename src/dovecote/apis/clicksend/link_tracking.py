"""Link tracking of SMS campaigns: `/v3/sms-campaigns/{id}/link-tracking`,
`…/link-statistics`, `…/link-export` (a signed, streamed CSV), and SDK 6's
`/v3/short-url/tracking/{long_url_id}` and `/v3/short-url/statistics/{source}/{source_id}`.

The `/short-url/…` answers follow SDK 6.0.2's GetTracking and GetStatistics: the page
fields and `data` at the top level, next to ClickSend's `http_code`/`response_code`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse

from dovecote.accounts import store as account_store
from dovecote.accounts.service import require
from dovecote.apis.clicksend.envelope import envelope
from dovecote.apis.clicksend.listing import ListParams, render_page
from dovecote.apis.deps import Conn, CurrentPrincipal, RuntimeDep, link_base
from dovecote.campaigns import links
from dovecote.campaigns import sms as campaigns
from dovecote.core.csvfile import csv_stream
from dovecote.core.errors import Forbidden, NotFound
from dovecote.core.models import Principal
from dovecote.pipeline.exports import clean_filename, open_export, signed_url

router = APIRouter(tags=["SMS Campaigns"])

CampaignId = Annotated[int, Path(ge=1, le=2**31 - 1)]
EXPORT_PATH = "/v3/sms-campaigns/link-export/download"
KIND = "campaign-links"


async def _long_url(conn: Conn, principal: Principal, campaign_id: int) -> int:
    await campaigns.get(conn, principal, campaign_id)  # 404 for another account's
    found = await links.long_url_id(conn, principal.account.id, campaign_id)
    if found is None:
        raise NotFound(f"SMS campaign #{campaign_id} has no tracked link (url_to_shorten).")
    return found


@router.get("/sms-campaigns/{campaign_id}/link-tracking", summary="Link Tracking")
async def link_tracking(
    request: Request,
    campaign_id: CampaignId,
    params: ListParams,
    principal: CurrentPrincipal,
    conn: Conn,
) -> JSONResponse:
    long_url = await _long_url(conn, principal, campaign_id)
    page = await links.tracking_page(conn, principal.account.id, long_url, params)
    return envelope(render_page(page, request, links.tracking_entry), "Here is your result.")


@router.get("/sms-campaigns/{campaign_id}/link-statistics", summary="Link Statistics")
async def link_statistics(
    campaign_id: CampaignId, principal: CurrentPrincipal, conn: Conn
) -> JSONResponse:
    long_url = await _long_url(conn, principal, campaign_id)
    return envelope(await links.statistics(conn, long_url), "Here is your result.")


@router.get(EXPORT_PATH.removeprefix("/v3"), summary="Download a link tracking export")
async def download_export(request: Request, conn: Conn, runtime: RuntimeDep) -> StreamingResponse:
    """The link from `…/link-export`: its signature, not Basic auth, authorizes it."""
    query = request.query_params
    if query.get("kind") != KIND or not query.get("long_url", "").isdigit():
        raise Forbidden("This export link is not valid.")
    export = await open_export(conn, query, secret=runtime.settings.secret_key)
    user = await account_store.get_user(conn, int(query.get("user") or 0))
    if user is None or not (user.is_main or user.access.get("access_sms", False)):
        raise Forbidden("This user does not have the 'access_sms' permission.")
    long_url = int(query["long_url"])
    if await links.owned_long_url(conn, export.scope.account_id, long_url) is None:
        raise NotFound("This campaign's links are gone.")
    rows = links.export_rows(
        runtime.engine, export.scope.account_id, long_url, runtime.settings.public_base()
    )
    return StreamingResponse(
        csv_stream(links.EXPORT_COLUMNS, rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{export.filename}"'},
    )


@router.get("/sms-campaigns/{campaign_id}/link-export", summary="Link Tracking Export")
async def link_export(
    request: Request,
    campaign_id: CampaignId,
    principal: CurrentPrincipal,
    conn: Conn,
    runtime: RuntimeDep,
    filename: Annotated[str | None, Query(max_length=200)] = None,
) -> JSONResponse:
    long_url = await _long_url(conn, principal, campaign_id)
    settings = runtime.settings
    fields = {
        "kind": KIND,
        "account": str(principal.account.id),
        "user": str(principal.user.id),
        "long_url": str(long_url),
        "filename": clean_filename(filename, f"campaign-{campaign_id}-links.csv"),
    }
    url = signed_url(
        fields,
        path=EXPORT_PATH,
        secret=settings.secret_key,
        base_url=link_base(request, settings),
        ttl=settings.export_link_ttl,
        now=None,
    )
    return envelope({"url": url}, "Download your file here.")


def _flat(data: dict[str, Any], message: str) -> JSONResponse:
    return JSONResponse(
        {"http_code": 200, "response_code": "SUCCESS", "response_msg": message, **data}
    )


@router.get("/short-url/tracking/{long_url_id}", summary="Get tracking data of a long URL")
async def short_url_tracking(
    request: Request,
    long_url_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    params: ListParams,
    principal: CurrentPrincipal,
    conn: Conn,
) -> JSONResponse:
    require(principal, "access_sms")
    if await links.owned_long_url(conn, principal.account.id, long_url_id) is None:
        raise NotFound(f"Long URL #{long_url_id} not found.")
    page = await links.tracking_page(conn, principal.account.id, long_url_id, params)
    rendered = render_page(page, request, links.tracking_entry)
    data = {
        "total": rendered["total"],
        "per_page": rendered["per_page"],
        "current_page_size": len(rendered["data"]),
        "data": rendered["data"],
    }
    for name in ("prev_page_url", "next_page_url"):
        if rendered.get(name):
            data[name] = rendered[name]
    return _flat(data, "Here is your result.")


@router.get("/short-url/statistics/{source}/{source_id}", summary="Get short URL statistics")
async def short_url_statistics(
    source: Annotated[str, Path(max_length=32)],
    source_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    principal: CurrentPrincipal,
    conn: Conn,
) -> JSONResponse:
    require(principal, "access_sms")
    found = await links.long_urls_of(conn, principal.account.id, source, source_id)
    if not found:
        raise NotFound(f"No short URL for {source} #{source_id}.")
    data = [
        {"long_url_id": str(long_url), **await links.statistics(conn, long_url)}
        for long_url in found
    ]
    return _flat({"data": data}, "Here is your result.")
