"""`/v3/email-campaigns`: price, send, list, read, change, cancel email campaigns, their
history and its signed CSV export; and `/v3/email-unsubscribe`, the signed one-click
unsubscribe link every campaign email carries (RFC 8058)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from sqlalchemy.ext.asyncio import AsyncEngine

from dovecote.apis.clicksend.envelope import envelope
from dovecote.apis.clicksend.listing import ListParams, render_page
from dovecote.apis.deps import Conn, CurrentPrincipal, RuntimeDep, client_ip, link_base
from dovecote.campaigns import email as campaigns
from dovecote.campaigns import email_store
from dovecote.core.csvfile import csv_stream
from dovecote.core.errors import Forbidden, InvalidInput, NotFound
from dovecote.pipeline import exports
from dovecote.pipeline.status import HISTORY_STATUS

router = APIRouter(tags=["Email Marketing"])

CampaignId = Annotated[int, Path(ge=1, le=2**31 - 1)]
JsonBody = Annotated[Any, Body()]
UnixTime = Annotated[int | None, Query(ge=0, le=2**53, description="Unix seconds (UTC).")]
EXPORT_KIND = "email-campaign"


def _object(body: Any) -> dict[str, Any]:
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise InvalidInput("The body must be a JSON object.")
    return body


def campaign(
    row: Mapping[Any, Any],
    counts: Mapping[str, int] | None = None,
    engagement: Mapping[str, int] | None = None,
) -> dict[str, Any]:
    """SDK 6.0.2's EmailCampaign (`schedule`, `date_added` strings, as it demands), plus
    Dovecote's progress (`_queued`, `_opted_out` …)."""
    seen = engagement or {}
    rendered = {
        "email_campaign_id": row["id"],
        "name": row["name"],
        "user_id": row["user_id"],
        "subaccount_id": row["user_id"],
        "subject": row["subject"],
        "list_id": row["list_id"],
        "from_email_address_id": row["from_email_address_id"],
        "from_name": row["from_name"],
        "template_id": row["template_id"],
        "schedule": "" if row["schedule"] is None else str(row["schedule"]),
        "status": row["status"],
        "date_added": str(row["created_at"]),
        "custom_string": row["custom_string"],
        "send_count": row["queued"],
        "open_count": seen.get("open", 0),
        "click_count": seen.get("click", 0),
        "hard_bounce_count": seen.get("bounce", 0),
        "soft_bounce_count": 0,
        "abuse_count": seen.get("spamreport", 0),
        "unsubscribe_count": seen.get("unsubscribe", 0),
        "body": row["body"],
        "list_name": row["list_name"],
        "_queued": row["queued"],
        "_opted_out": row["opted_out"],
        "_refused": row["refused"],
        "_charged": campaigns.total_price(row["price_micros"]),
    }
    if counts is not None:
        rendered["_messages"] = dict(counts)
    return rendered


def history_entry(
    row: Mapping[Any, Any],
    campaign_row: Mapping[Any, Any],
    engagement: Mapping[str, int] | None = None,
) -> dict[str, Any]:
    """SDK 6.0.2's EmailCampaignHistory, one per recipient."""
    seen = engagement or {}
    failed = row["status"] == "failed"
    return {
        "email_campaign_id": campaign_row["id"],
        "from_name": campaign_row["from_name"],
        "from_address": row["sender"],
        "to_name": row["recipient"],
        "to_address": row["recipient"],
        "contact_id": None,
        "subject": row["subject"],
        "message_id": row["id"],
        "processed_at": str(row["created_at"]),
        "status": HISTORY_STATUS.get(row["status"], str(row["status"]).capitalize()),
        "open_count": seen.get("open", 0),
        "click_count": seen.get("click", 0),
        "hard_bounce_count": 1 if failed and row["error_code"] != "dropped" else 0,
        "soft_bounce_count": 0,
        "_status_text": row["status_text"],
        "_error_text": row["error_text"],
        "_price": campaigns.total_price(int(row["price_micros"] or 0)),
    }


@router.get("/email-campaigns", summary="Get all email campaigns")
async def list_campaigns(
    request: Request, params: ListParams, principal: CurrentPrincipal, conn: Conn
) -> JSONResponse:
    page = await campaigns.page(conn, principal, params)
    seen = await campaigns.engagement(conn, principal, [int(row["id"]) for row in page.rows])
    data = render_page(page, request, lambda row: campaign(row, None, seen.get(int(row["id"]))))
    return envelope(data, "Here are your email campaigns.")


@router.post("/email-campaigns/price", summary="Calculate price for sending an email campaign")
async def price_campaign(
    principal: CurrentPrincipal, conn: Conn, runtime: RuntimeDep, body: JsonBody = None
) -> JSONResponse:
    priced = await campaigns.price(conn, principal, runtime.prices, runtime.settings, _object(body))
    plan = priced.plan
    data = {
        "total_count": priced.count,
        "total_price": campaigns.total_price(priced.total_micros),
        "queued_count": priced.count,
        "data": {
            "name": plan.name,
            "subject": plan.subject,
            "from_email_address_id": plan.from_email_address_id,
            "from_name": plan.from_name,
            "body": plan.body,
            "list_id": plan.list_id,
        },
        "_currency": runtime.prices.currency_info(principal.account.currency),
    }
    return envelope(data, "Total price for email campaign.")


@router.post("/email-campaigns/send", summary="Send an email campaign")
async def send_campaign(
    request: Request,
    principal: CurrentPrincipal,
    conn: Conn,
    runtime: RuntimeDep,
    body: JsonBody = None,
) -> JSONResponse:
    row, priced = await campaigns.send(
        conn, principal, runtime.prices, runtime.settings, _object(body), ip=client_ip(request)
    )
    data = {
        "total_count": priced.count,
        "totlal_count": priced.count,  # SDK 6.0.2's spelling
        "total_price": campaigns.total_price(priced.total_micros),
        "queued_count": priced.count,
        "data": campaign(row),
        "_currency": runtime.prices.currency_info(principal.account.currency),
    }
    return envelope(data, "Email campaign has been created.")


@router.get("/email-campaigns/{email_campaign_id}", summary="Get a specific email campaign")
async def get_campaign(
    email_campaign_id: CampaignId, principal: CurrentPrincipal, conn: Conn
) -> JSONResponse:
    row = await campaigns.get(conn, principal, email_campaign_id)
    counts = await campaigns.counts(conn, principal, email_campaign_id)
    seen = await campaigns.engagement(conn, principal, [email_campaign_id])
    rendered = campaign(row, counts, seen.get(email_campaign_id))
    return envelope(rendered, "Here is your email campaign.")


@router.put("/email-campaigns/{email_campaign_id}", summary="Edit an email campaign")
async def update_campaign(
    email_campaign_id: CampaignId, principal: CurrentPrincipal, conn: Conn, body: JsonBody = None
) -> JSONResponse:
    row = await campaigns.update(conn, principal, email_campaign_id, _object(body))
    return envelope(campaign(row), "Email campaign has been updated.")


@router.put("/email-campaigns/{email_campaign_id}/cancel", summary="Cancel an email campaign")
async def cancel_campaign(
    email_campaign_id: CampaignId, principal: CurrentPrincipal, conn: Conn
) -> JSONResponse:
    row = await campaigns.cancel(conn, principal, email_campaign_id)
    return envelope(campaign(row), "Email campaign has been cancelled.")


@router.get("/email-campaigns/{email_campaign_id}/history", summary="Get email campaign history")
async def campaign_history(
    email_campaign_id: CampaignId,
    request: Request,
    params: ListParams,
    principal: CurrentPrincipal,
    conn: Conn,
    date_from: UnixTime = None,
    date_to: UnixTime = None,
) -> JSONResponse:
    row = await campaigns.get(conn, principal, email_campaign_id)
    page = await campaigns.history(conn, principal, email_campaign_id, params)
    seen = await campaigns.message_engagement(conn, [str(item["id"]) for item in page.rows])
    data = render_page(
        page, request, lambda item: history_entry(item, row, seen.get(str(item["id"])))
    )
    return envelope(data, "Here is your result.")


EXPORT_COLUMNS = (
    "email_campaign_id",
    "message_id",
    "processed_at",
    "from_name",
    "from_address",
    "to_address",
    "subject",
    "status",
    "open_count",
    "click_count",
    "_status_text",
    "_error_text",
    "_price",
)


@router.get(
    "/email-campaigns/{email_campaign_id}/history/export",
    summary="Export specific email campaign history",
)
async def export_history(
    email_campaign_id: CampaignId,
    request: Request,
    principal: CurrentPrincipal,
    conn: Conn,
    runtime: RuntimeDep,
    filename: Annotated[str | None, Query(max_length=200)] = None,
    date_from: UnixTime = None,
    date_to: UnixTime = None,
) -> JSONResponse:
    await campaigns.get(conn, principal, email_campaign_id)
    settings = runtime.settings
    fields = {
        "kind": EXPORT_KIND,
        "account": str(principal.account.id),
        "user": str(principal.user.id),
        "campaign": str(email_campaign_id),
        "filename": exports.clean_filename(filename or f"email-campaign-{email_campaign_id}"),
    }
    url = exports.signed_url(
        fields,
        path=f"/v3/email-campaigns/{email_campaign_id}/history/export/download",
        secret=settings.secret_key,
        base_url=link_base(request, settings),
        ttl=settings.export_link_ttl,
        now=None,
    )
    return envelope({"url": url}, "Download your file here.")


async def _export_rows(
    engine: AsyncEngine, account_id: int, campaign_row: Mapping[Any, Any]
) -> AsyncIterator[list[Any]]:
    chunks = email_store.stream_history(engine, account_id, int(campaign_row["id"]))
    async for chunk in chunks:
        async with engine.connect() as conn:
            seen = await campaigns.message_engagement(conn, [str(row["id"]) for row in chunk])
        for row in chunk:
            cells = history_entry(row, campaign_row, seen.get(str(row["id"])))
            yield [cells[column] for column in EXPORT_COLUMNS]


@router.get(
    "/email-campaigns/{email_campaign_id}/history/export/download",
    summary="Download an email campaign history export",
)
async def download_export(
    email_campaign_id: CampaignId, request: Request, conn: Conn, runtime: RuntimeDep
) -> StreamingResponse:
    """The link from `…/history/export`: its signature, not Basic auth, authorizes it."""
    query = request.query_params
    export = await exports.open_export(conn, query, secret=runtime.settings.secret_key)
    if query.get("kind") != EXPORT_KIND or query.get("campaign") != str(email_campaign_id):
        raise Forbidden("This export link is not valid.")
    account_id = export.scope.account_id
    row = await email_store.get(conn, account_id, email_campaign_id)
    if row is None:
        raise NotFound(f"Email campaign #{email_campaign_id} not found.")
    return StreamingResponse(
        csv_stream(EXPORT_COLUMNS, _export_rows(runtime.engine, account_id, row)),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{export.filename}"'},
    )


# --- one-click unsubscribe (no credentials: the link's signature authorizes it) ----------

_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>Unsubscribe</title></head>
<body><p>{text}</p>{form}</body></html>"""


@router.get(campaigns.UNSUBSCRIBE_PATH.removeprefix("/v3"), include_in_schema=False)
async def unsubscribe_page(request: Request, runtime: RuntimeDep) -> Response:
    """A person following the link: a button, since a GET (a mail scanner prefetching
    the link) must never unsubscribe anyone."""
    if campaigns.check_unsubscribe(runtime.settings, request.query_params) is None:
        return HTMLResponse(_PAGE.format(text="This link is not valid.", form=""), 404)
    form = (
        '<form method="post"><input type="hidden" name="List-Unsubscribe" '
        'value="One-Click"><button type="submit">Unsubscribe</button></form>'
    )
    return HTMLResponse(_PAGE.format(text="Unsubscribe from these emails?", form=form))


@router.post(campaigns.UNSUBSCRIBE_PATH.removeprefix("/v3"), include_in_schema=False)
async def unsubscribe(request: Request, conn: Conn, runtime: RuntimeDep) -> Response:
    """RFC 8058's one-click POST (`List-Unsubscribe=One-Click`), or the page's button."""
    found = campaigns.check_unsubscribe(runtime.settings, request.query_params)
    if found is None:
        return HTMLResponse(_PAGE.format(text="This link is not valid.", form=""), 404)
    account_id, address = found
    await campaigns.unsubscribe(conn, account_id, address)
    return HTMLResponse(_PAGE.format(text="You have been unsubscribed.", form=""))
