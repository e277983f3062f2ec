"""`/v3/lists/{list_id}/import…`: queue an import, preview a file, the import fields, and
Dovecote's own read of an import's progress and per-row report."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query
from fastapi.responses import JSONResponse

from dovecote.apis.clicksend.envelope import envelope
from dovecote.apis.deps import Conn, CurrentPrincipal, DetachedPrincipal, RuntimeDep
from dovecote.contacts import imports
from dovecote.contacts.service import get_list
from dovecote.core.errors import InvalidInput
from dovecote.runtime import Runtime

router = APIRouter(tags=["Contact Lists"])

ListId = Annotated[int, Path(ge=1, le=2**31 - 1)]
JsonBody = Annotated[Any, Body()]


def _object(body: Any) -> dict[str, Any]:
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise InvalidInput("The body must be a JSON object.")
    return body


def _options(runtime: Runtime) -> imports.ImportOptions:
    settings = runtime.settings
    return imports.ImportOptions(
        max_bytes=settings.contacts_import_max_bytes,
        allow_private=settings.fetch_allow_private,
        timeout=settings.fetch_timeout,
        secret=settings.secret_key,
    )


@router.get("/lists/{list_id}/import-fields", summary="Get List of Acceptable Import Fields")
async def import_fields(list_id: ListId, principal: CurrentPrincipal, conn: Conn) -> JSONResponse:
    await get_list(conn, principal, list_id)
    data = [{"field": name, "label": label} for name, label, _ in imports.IMPORT_FIELDS]
    return envelope(data, "List of acceptable import fields.")


@router.post("/lists/{list_id}/import-csv-preview", summary="Show CSV Import File Preview")
async def import_preview(
    list_id: ListId, principal: DetachedPrincipal, runtime: RuntimeDep, body: JsonBody = None
) -> JSONResponse:
    async with runtime.engine.connect() as conn:
        await get_list(conn, principal, list_id)
    url = _object(body).get("file_url")
    row = await imports.preview(runtime.files, principal, url, _options(runtime))
    return envelope({"row": row}, "Your file preview.")


@router.post("/lists/{list_id}/import", summary="Import Contacts to List")
async def import_contacts(
    list_id: ListId, principal: DetachedPrincipal, runtime: RuntimeDep, body: JsonBody = None
) -> JSONResponse:
    import_id = await imports.request_import(
        runtime.engine,
        runtime.files,
        principal,
        list_id,
        _object(body),
        _options(runtime),
    )
    data = {"id": import_id, "ids": [import_id], "msg": "Messages put on queue."}
    return envelope(data, "Your file is now queued.")


@router.get("/lists/{list_id}/import/{import_id}", summary="Progress of a contact import")
async def import_state(
    list_id: ListId,
    import_id: Annotated[str, Path(max_length=36)],
    principal: DetachedPrincipal,
    runtime: RuntimeDep,
    report: Annotated[int, Query(ge=0, le=imports.MAX_REPORTED)] = 1000,
) -> JSONResponse:
    """Dovecote's own: state, counters, and the refused rows with their reasons."""
    state = await imports.state(runtime.engine, principal, list_id, import_id, report=report)
    data = {
        "id": state.id,
        "list_id": state.list_id,
        "status": state.status,
        "rows_read": state.rows_read,
        "imported": state.imported,
        "refused": state.refused,
        "duplicates": state.duplicates,
        "error": state.error,
        "date_added": int(state.created_at),
        "date_finished": int(state.finished_at) if state.finished_at else None,
        "refused_rows": [{"row": row, "reason": reason} for row, reason in state.refused_rows],
    }
    return envelope(data, "Here is your import.")
