"""`/v3/voice/history` and its CSV export (a signed link that needs no credentials)."""

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
from dovecote.channels.voice import history
from dovecote.core.csvfile import csv_stream
from dovecote.core.money import from_micros
from dovecote.pipeline.exports import Export
from dovecote.pipeline.status import HISTORY_STATUS

router = APIRouter(tags=["Voice"])

UnixTime = Annotated[int | None, Query(ge=0, le=2**53, description="Unix seconds (UTC).")]

EXPORT_COLUMNS = (
    "message_id",
    "date_added",
    "to",
    "body",
    "lang",
    "voice",
    "status",
    "status_code",
    "status_text",
    "error_code",
    "error_text",
    "message_parts",
    "message_price",
    "schedule",
    "custom_string",
    "require_input",
    "machine_detection",
    "country",
    "subaccount_id",
    "api_username",
)


def entry(row: Mapping[str, Any]) -> dict[str, Any]:
    """One call; types follow SDK 6's VoiceMessage."""
    payload: Mapping[str, Any] = row.get("payload") or {}
    return {
        "date": str(row["created_at"]),
        "date_added": int(row["created_at"]),
        "to": row["recipient"],
        "body": row["body"],
        "from": row["sender"] or None,
        "lang": payload.get("lang"),
        "voice": payload.get("voice"),
        "schedule": row["schedule"] or 0,
        "message_id": row["id"],
        "message_parts": int(row["parts"]),
        "message_price": f"{from_micros(int(row['price_micros'])):.4f}",
        "custom_string": row["custom_string"],
        "list_id": str(row["list_id"]) if row["list_id"] is not None else None,
        "user_id": int(row["user_id"]),
        "subaccount_id": int(row["user_id"]),
        "country": row["country"],
        "require_input": int(bool(payload.get("require_input"))),
        "machine_detection": int(bool(payload.get("machine_detection"))),
        "carrier": "",
        "status": HISTORY_STATUS.get(row["status"], str(row["status"]).capitalize()),
        "status_code": row["status_code"],
        "status_text": row["status_text"],
        "error_code": row["error_code"],
        "error_text": row["error_text"],
        "api_username": row["username"],
    }


async def _export_rows(engine: AsyncEngine, export: Export) -> AsyncIterator[list[Any]]:
    async for row in history.export_rows(engine, export):
        cells = entry(row)
        yield [cells[column] for column in EXPORT_COLUMNS]


@router.get("/voice/history", summary="Get voice history")
async def list_history(
    request: Request,
    params: ListParams,
    principal: CurrentPrincipal,
    conn: Conn,
    date_from: UnixTime = None,
    date_to: UnixTime = None,
) -> JSONResponse:
    accounts.require(principal, "access_voice")
    page = await history.list_history(conn, principal, params, date_from=date_from, date_to=date_to)
    return envelope(render_page(page, request, entry), "Here are your data.")


@router.get("/voice/history/export", summary="Export voice history")
async def export_history(
    request: Request,
    params: ListParams,
    principal: CurrentPrincipal,
    runtime: RuntimeDep,
    filename: Annotated[str | None, Query(max_length=200)] = None,
    date_from: UnixTime = None,
    date_to: UnixTime = None,
) -> JSONResponse:
    accounts.require(principal, "access_voice")
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


@router.get(history.EXPORT_PATH.removeprefix("/v3"), summary="Download a voice history export")
async def download_export(request: Request, conn: Conn, runtime: RuntimeDep) -> StreamingResponse:
    """The link from `/voice/history/export`: its signature, not Basic auth, authorizes it."""
    export = await history.open_export(
        conn, request.query_params, secret=runtime.settings.secret_key
    )
    return StreamingResponse(
        csv_stream(EXPORT_COLUMNS, _export_rows(runtime.engine, export)),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{export.filename}"'},
    )
