"""`/v3/<channel>/history`, its export link and the signed CSV download, for a channel
whose history module has the common shape (voice, fax): one place for the routes, each
channel giving its module, permission, row shape and export columns.

The download is authorized by the link's signature, not Basic auth (a spreadsheet
opens it); the export streams, so a long history is never held in memory.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import Annotated, Any, Protocol

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from dovecote.accounts import service as accounts
from dovecote.apis.clicksend.envelope import envelope
from dovecote.apis.clicksend.listing import ListParams, render_page
from dovecote.apis.deps import Conn, CurrentPrincipal, RuntimeDep, link_base
from dovecote.core.csvfile import csv_stream
from dovecote.core.models import Principal
from dovecote.pipeline.exports import Export
from dovecote.storage.listing import ListQuery, Page

UnixTime = Annotated[int | None, Query(ge=0, le=2**53, description="Unix seconds (UTC).")]
Entry = Callable[[Mapping[str, Any]], dict[str, Any]]


class ChannelHistory(Protocol):
    """What a channel's history module offers (`channels/voice/history.py`, fax's)."""

    EXPORT_PATH: str

    async def list_history(
        self,
        conn: AsyncConnection,
        principal: Principal,
        params: ListQuery,
        *,
        date_from: int | None = None,
        date_to: int | None = None,
    ) -> Page: ...

    def export_link(
        self,
        principal: Principal,
        params: ListQuery,
        *,
        date_from: int | None,
        date_to: int | None,
        filename: str | None,
        secret: str,
        base_url: str,
        ttl: int,
    ) -> str: ...

    async def open_export(
        self, conn: AsyncConnection, query: Mapping[str, str], *, secret: str
    ) -> Export: ...

    def export_rows(self, engine: AsyncEngine, export: Export) -> AsyncIterator[Any]: ...


def history_routes(
    router: APIRouter,
    *,
    channel: str,
    label: str,
    permission: str,
    history: ChannelHistory,
    entry: Entry,
    columns: Sequence[str],
) -> None:
    """Add the three routes for `channel` ("voice": `/voice/history`, …) to `router`."""

    async def export_rows(engine: AsyncEngine, export: Export) -> AsyncIterator[list[Any]]:
        async for row in history.export_rows(engine, export):
            cells = entry(row)
            yield [cells[column] for column in columns]

    @router.get(f"/{channel}/history", summary=f"Get {label} history")
    async def list_history(
        request: Request,
        params: ListParams,
        principal: CurrentPrincipal,
        conn: Conn,
        date_from: UnixTime = None,
        date_to: UnixTime = None,
    ) -> JSONResponse:
        accounts.require(principal, permission)
        page = await history.list_history(
            conn, principal, params, date_from=date_from, date_to=date_to
        )
        return envelope(render_page(page, request, entry), "Here are your data.")

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
        accounts.require(principal, permission)
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

    @router.get(
        history.EXPORT_PATH.removeprefix("/v3"), summary=f"Download a {label} history export"
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
