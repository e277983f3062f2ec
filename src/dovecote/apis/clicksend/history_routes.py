"""`/v3/<channel>/history`, its export link and the signed CSV download, for every
channel whose history is a `pipeline.history.ChannelHistory` (SMS, MMS, voice, fax):
one place for the routes, each channel giving its history, permission, row shape and
export columns.

The download is authorized by the link's signature, not Basic auth (a spreadsheet
opens it); the export streams, so a long history is never held in memory.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse
from sqlalchemy.ext.asyncio import AsyncEngine

from dovecote.accounts import service as accounts
from dovecote.apis.clicksend.envelope import envelope
from dovecote.apis.clicksend.listing import ListParams, render_page
from dovecote.apis.deps import Conn, CurrentPrincipal, RuntimeDep, link_base
from dovecote.core.csvfile import csv_stream
from dovecote.core.models import Principal
from dovecote.pipeline.exports import Export
from dovecote.pipeline.history import ChannelHistory
from dovecote.runtime import Runtime

UnixTime = Annotated[int | None, Query(ge=0, le=2**53, description="Unix seconds (UTC).")]
Entry = Callable[[Mapping[str, Any]], dict[str, Any]]
# A page's entry when it needs the request (MMS links each row's media file).
PageEntry = Callable[[Request, Runtime], Entry]


def history_routes(
    router: APIRouter,
    *,
    channel: str,
    label: str,
    permission: str | None,
    history: ChannelHistory,
    entry: Entry,
    columns: Sequence[str],
    page_entry: PageEntry | None = None,
    list_summary: str | None = None,
) -> None:
    """Add the three routes for `channel` ("voice": `/voice/history`, …) to `router`.

    `permission` None: any caller of the account (SMS history predates permissions).
    `entry` renders a row for the export (and for a page unless `page_entry` is given).
    """

    def require(principal: Principal) -> None:
        if permission is not None:
            accounts.require(principal, permission)

    async def export_rows(engine: AsyncEngine, export: Export) -> AsyncIterator[list[Any]]:
        async for row in history.export_rows(engine, export):
            cells = entry(row)
            yield [cells[column] for column in columns]

    @router.get(f"/{channel}/history", summary=list_summary or f"Get {label} history")
    async def list_history(
        request: Request,
        params: ListParams,
        principal: CurrentPrincipal,
        conn: Conn,
        runtime: RuntimeDep,
        date_from: UnixTime = None,
        date_to: UnixTime = None,
    ) -> JSONResponse:
        require(principal)
        page = await history.list_history(
            conn, principal, params, date_from=date_from, date_to=date_to
        )
        render = entry if page_entry is None else page_entry(request, runtime)
        return envelope(render_page(page, request, render), "Here are your data.")

    @router.get(f"/{channel}/history/export", summary=f"Export {label} history")
    async def export_history(
        request: Request,
        params: ListParams,
        principal: CurrentPrincipal,
        runtime: RuntimeDep,
        filename: Annotated[str | None, Query(max_length=200)] = None,
        date_from: UnixTime = None,
        date_to: UnixTime = None,
    ) -> JSONResponse:
        require(principal)
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

    article = "an" if label in ("SMS", "MMS") else "a"  # said "es-em-es"

    @router.get(
        history.export_path.removeprefix("/v3"),
        summary=f"Download {article} {label} history export",
    )
    async def download_export(
        request: Request, conn: Conn, runtime: RuntimeDep
    ) -> StreamingResponse:
        """The link from `/<channel>/history/export`: its signature authorizes it."""
        export = await history.open_export(
            conn, request.query_params, secret=runtime.settings.secret_key
        )
        return StreamingResponse(
            csv_stream(columns, export_rows(runtime.engine, export)),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{export.filename}"'},
        )
