"""`/v3/lists`: contact lists, their duplicates and opt-outs, and their CSV export."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse

from dovecote.apis.clicksend.contact_render import contact_list
from dovecote.apis.clicksend.envelope import envelope
from dovecote.apis.clicksend.listing import ListParams, render_page
from dovecote.apis.deps import Conn, CurrentPrincipal, RuntimeDep, link_base
from dovecote.contacts import export, service
from dovecote.core.csvfile import csv_stream

router = APIRouter(tags=["Contact Lists"])

ListId = Annotated[int, Path(ge=1, le=2**31 - 1)]
JsonBody = Annotated[Any, Body()]


def _field(body: Any, name: str) -> Any:
    return body.get(name) if isinstance(body, dict) else None


@router.get(export.EXPORT_PATH.removeprefix("/v3"), summary="Download a contact list export")
async def download_export(request: Request, conn: Conn, runtime: RuntimeDep) -> StreamingResponse:
    """The link from `/lists/{list_id}/export`: its signature, not Basic auth, authorizes it."""
    found = await export.open_list_export(
        conn, request.query_params, secret=runtime.settings.secret_key
    )
    return StreamingResponse(
        csv_stream(export.COLUMNS, export.rows(runtime.engine, found)),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{found.filename}"'},
    )


@router.get("/lists", summary="Get all Contact Lists")
async def list_lists(
    request: Request, params: ListParams, principal: CurrentPrincipal, conn: Conn
) -> JSONResponse:
    page = await service.list_lists(conn, principal, params)
    data = render_page(page, request, lambda row: contact_list(service.list_from_row(row)))
    return envelope(data, "Here are your data.")


@router.post("/lists", summary="Create a new contact list")
async def create_list(
    principal: CurrentPrincipal, conn: Conn, body: JsonBody = None
) -> JSONResponse:
    item = await service.create_list(conn, principal, _field(body, "list_name"))
    return envelope(contact_list(item), "New list has been created.")


@router.get("/lists/{list_id}", summary="Get a specific contact list")
async def get_list(list_id: ListId, principal: CurrentPrincipal, conn: Conn) -> JSONResponse:
    item = await service.get_list(conn, principal, list_id)
    return envelope(contact_list(item), "Here are your data.")


@router.put("/lists/{list_id}", summary="Update a specific contact list")
async def update_list(
    list_id: ListId, principal: CurrentPrincipal, conn: Conn, body: JsonBody = None
) -> JSONResponse:
    item = await service.rename_list(conn, principal, list_id, _field(body, "list_name"))
    return envelope(contact_list(item), f"List #{list_id} has been updated.")


@router.delete("/lists/{list_id}", summary="Delete a specific contact list")
async def delete_list(list_id: ListId, principal: CurrentPrincipal, conn: Conn) -> JSONResponse:
    await service.delete_list(conn, principal, list_id)
    return envelope([], f"List #{list_id} has been deleted.")


# SDK 6.0.2 calls the path with a trailing slash; the spec without.
@router.put("/lists/{list_id}/remove-duplicates", summary="Remove Duplicate Contacts")
@router.put("/lists/{list_id}/remove-duplicates/", include_in_schema=False)
async def remove_duplicates(
    list_id: ListId, principal: CurrentPrincipal, conn: Conn, body: JsonBody = None
) -> JSONResponse:
    deleted = await service.remove_duplicates(conn, principal, list_id, _field(body, "fields"))
    return envelope({"deleted": deleted}, "Your list duplicate contacts has been deleted.")


@router.put(
    "/lists/{list_id}/remove-opted-out-contacts/{opt_out_list_id}",
    summary="Remove Opted Out Contacts",
)
async def remove_opted_out(
    list_id: ListId, opt_out_list_id: ListId, principal: CurrentPrincipal, conn: Conn
) -> JSONResponse:
    deleted = await service.remove_opted_out(conn, principal, list_id, opt_out_list_id)
    return envelope({"deleted": deleted}, "Optout contacts has been deleted.")


@router.get("/lists/{list_id}/export", summary="Export Contacts List")
async def export_list(
    request: Request,
    list_id: ListId,
    principal: CurrentPrincipal,
    conn: Conn,
    runtime: RuntimeDep,
    filename: Annotated[str | None, Query(max_length=200)] = None,
) -> JSONResponse:
    settings = runtime.settings
    url = await export.export_link(
        conn,
        principal,
        list_id,
        filename=filename,
        secret=settings.secret_key,
        base_url=link_base(request, settings),
        ttl=settings.export_link_ttl,
    )
    return envelope({"url": url}, "Download your file here.")
