"""`/v3/fax/history` and its CSV export (a signed link that needs no credentials)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse
from sqlalchemy.ext.asyncio import AsyncEngine

from dovecote.accounts import service as accounts
from dovecote.apis.clicksend.envelope import envelope
from dovecote.apis.clicksend.listing import ListParams, render_page
from dovecote.apis.deps import Conn, CurrentPrincipal, RuntimeDep, link_base
from dovecote.channels.fax import history
from dovecote.core.csvfile import csv_stream
from dovecote.core.money import from_micros
from dovecote.pipeline.exports import Export
from dovecote.pipeline.status import HISTORY_STATUS

router = APIRouter(tags=["Fax"])

UnixTime = Annotated[int | None, Query(ge=0, le=2**53, description="Unix seconds (UTC).")]

EXPORT_COLUMNS = (
    "message_id",
    "date_added",
    "direction",
    "from",
    "to",
    "status",
    "status_code",
    "status_text",
    "error_code",
    "error_text",
    "message_pages",
    "message_price",
    "schedule",
    "custom_string",
    "from_email",
    "country",
    "subaccount_id",
    "api_username",
)


def entry(row: Mapping[str, Any]) -> dict[str, Any]:
    """One fax, sent or received (the shape of the spec's fax send answer)."""
    return {
        "date_added": int(row["created_at"]),
        "direction": row["direction"],
        "to": row["recipient"],
        "from": row["sender"] or None,
        "schedule": str(row["schedule"] or ""),
        "message_id": row["id"],
        "message_pages": int(row["parts"]),
        "message_price": f"{from_micros(int(row['price_micros'])):.4f}",
        "custom_string": row["custom_string"],
        "from_email": row["from_email"],
        "list_id": str(row["list_id"]) if row["list_id"] is not None else None,
        "user_id": int(row["user_id"]),
        "subaccount_id": int(row["user_id"]),
        "country": row["country"],
        "carrier": "",
        "status": HISTORY_STATUS.get(row["status"], str(row["status"]).capitalize()),
        "status_code": row["status_code"],
        "status_text": row["status_text"],
        "error_code": row["error_code"],
        "error_text": row["error_text"],
        "api_username": row["username"],
        # Dovecote: where the sandbox shows the pages (each `.../page/<n>.png`).
        "_pages_url": f"/sandbox/fax/{row['id']}/page/1.png",
    }


async def _export_rows(engine: AsyncEngine, export: Export) -> AsyncIterator[list[Any]]:
    async for row in history.export_rows(engine, export):
        cells = entry(row)
        yield [cells[column] for column in EXPORT_COLUMNS]


@router.get("/fax/history", summary="Get fax history")
async def list_history(
    request: Request,
    params: ListParams,
    principal: CurrentPrincipal,
    conn: Conn,
    date_from: UnixTime = None,
    date_to: UnixTime = None,
) -> JSONResponse:
    accounts.require(principal, "access_fax")
    page = await history.list_history(conn, principal, params, date_from=date_from, date_to=date_to)
    return envelope(render_page(page, request, entry), "Here are your data.")


@router.get("/fax/history/export", summary="Export fax history")
async def export_history(
    request: Request,
    params: ListParams,
    principal: CurrentPrincipal,
    runtime: RuntimeDep,
    filename: Annotated[str | None, Query(max_length=200)] = None,
    date_from: UnixTime = None,
    date_to: UnixTime = None,
) -> JSONResponse:
    accounts.require(principal, "access_fax")
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


@router.get(history.EXPORT_PATH.removeprefix("/v3"), summary="Download a fax history export")
async def download_export(request: Request, conn: Conn, runtime: RuntimeDep) -> StreamingResponse:
    """The link from `/fax/history/export`: its signature, not Basic auth, authorizes it."""
    export = await history.open_export(
        conn, request.query_params, secret=runtime.settings.secret_key
    )
    return StreamingResponse(
        csv_stream(EXPORT_COLUMNS, _export_rows(runtime.engine, export)),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{export.filename}"'},
    )
