"""`/v3/mms/history` and its CSV export (a signed link that needs no credentials)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse
from sqlalchemy.ext.asyncio import AsyncEngine

from dovecote.accounts import service as accounts
from dovecote.apis.clicksend.envelope import envelope
from dovecote.apis.clicksend.listing import ListParams, render_page
from dovecote.apis.clicksend.mms import media_url
from dovecote.apis.clicksend.render import money
from dovecote.apis.deps import Conn, CurrentPrincipal, RuntimeDep, link_base
from dovecote.channels.mms import history
from dovecote.channels.mms.history import HistoryEntry
from dovecote.core.csvfile import csv_stream
from dovecote.pipeline.exports import Export
from dovecote.pipeline.status import HISTORY_STATUS
from dovecote.runtime import Runtime

router = APIRouter(tags=["MMS"])

UnixTime = Annotated[int | None, Query(ge=0, le=2**53, description="Unix seconds (UTC).")]

EXPORT_COLUMNS = (
    "message_id",
    "date_added",
    "direction",
    "from",
    "to",
    "subject",
    "body",
    "status",
    "status_code",
    "status_text",
    "error_code",
    "error_text",
    "message_parts",
    "message_price",
    "schedule",
    "custom_string",
    "list_id",
    "country",
    "subaccount_id",
    "_api_username",
)


def entry(item: HistoryEntry, url: str | None) -> dict[str, Any]:
    """One MMS; types follow SDK 6's ViewMmsHistoryDataAllOfDataInner (`date` a string,
    `date_added` an integer, `message_parts` "1.00")."""
    return {
        "direction": item.direction,
        "date": str(item.created_at),
        "date_added": item.created_at,
        "to": item.recipient,
        "from": item.sender,
        "subject": item.subject,
        "body": item.body,
        "priority": 10,
        "_media_file_url": url,
        "status": HISTORY_STATUS.get(item.status, item.status.capitalize()),
        "schedule": str(item.schedule) if item.schedule is not None else None,
        "status_code": item.status_code,
        "status_text": item.status_text,
        "error_code": item.error_code,
        "error_text": item.error_text,
        "message_id": item.message_id,
        "message_parts": f"{item.parts:.2f}",
        "message_price": money(item.price_micros),
        "from_email": item.from_email,
        "list_id": str(item.list_id) if item.list_id is not None else None,
        "custom_string": item.custom_string,
        "contact_id": None,
        "user_id": item.user_id,
        "subaccount_id": item.user_id,
        "country": item.country,
        "carrier": "",
        "first_name": None,
        "last_name": None,
        "_api_username": item.username,
    }


def rendered(request: Request, runtime: Runtime, item: HistoryEntry) -> dict[str, Any]:
    url = media_url(request, runtime, item.media_key) if item.media_key else None
    return entry(item, url)


async def _export_rows(engine: AsyncEngine, export: Export) -> AsyncIterator[list[Any]]:
    async for item in history.export_entries(engine, export):
        cells = entry(item, None)
        yield [cells[column] for column in EXPORT_COLUMNS]


@router.get("/mms/history", summary="Get all MMS history")
async def list_history(
    request: Request,
    params: ListParams,
    principal: CurrentPrincipal,
    conn: Conn,
    runtime: RuntimeDep,
    date_from: UnixTime = None,
    date_to: UnixTime = None,
) -> JSONResponse:
    accounts.require(principal, "access_mms")
    page = await history.list_history(conn, principal, params, date_from=date_from, date_to=date_to)
    data = render_page(
        page, request, lambda row: rendered(request, runtime, history.entry_from_row(row))
    )
    return envelope(data, "Here are your data.")


@router.get("/mms/history/export", summary="Export MMS history")
async def export_history(
    request: Request,
    params: ListParams,
    principal: CurrentPrincipal,
    runtime: RuntimeDep,
    filename: Annotated[str | None, Query(max_length=200)] = None,
    date_from: UnixTime = None,
    date_to: UnixTime = None,
) -> JSONResponse:
    accounts.require(principal, "access_mms")
    settings = runtime.settings
    url = history.export_link(
        principal,
        params,
        date_from=date_from,
        date_to=date_to,
        filename=filename,
        secret=settings.secret_key,
        base_url=link_base(request, settings),
        ttl=settings.export_link_ttl,
    )
    return envelope({"url": url}, "Download your file here.")


@router.get(history.EXPORT_PATH.removeprefix("/v3"), summary="Download an MMS history export")
async def download_export(request: Request, conn: Conn, runtime: RuntimeDep) -> StreamingResponse:
    """The link from `/mms/history/export`: its signature, not Basic auth, authorizes it."""
    export = await history.open_mms_export(
        conn, request.query_params, secret=runtime.settings.secret_key
    )
    return StreamingResponse(
        csv_stream(EXPORT_COLUMNS, _export_rows(runtime.engine, export)),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{export.filename}"'},
    )
