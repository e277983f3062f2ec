"""Sandbox: the account's scripted outcomes, edited at runtime (`pipeline/sandbox_scripts`).

Rules (`prefix` → outcome) and auto-replies (`prefix` → text) are listed, added, changed
and removed here; the worker's sandboxes pick a change up within
`DOVECOTE_SANDBOX_REFRESH_SECONDS`. Like every settings-like thing they need
`access_settings`. A refused rule re-renders the page with the reason beside the form
(400) and what was typed kept; a change that worked redirects back (no resubmission on
reload). The path is not `/sandbox…`: that is the API's (`/sandbox/sms/inbound`, …).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncConnection

from dovecote.core.errors import DomainError, NotFound
from dovecote.dashboard import guard, web
from dovecote.dashboard import settings_forms as forms
from dovecote.pipeline import sandbox_scripts as scripts
from dovecote.pipeline.transports.scripts import ACTIONS, REPLY, RULE

router = APIRouter(include_in_schema=False, route_class=guard.PageRoute)

PATH = "/sandbox-rules"
FLAG = scripts.PERMISSION
Allowed = Annotated[web.Viewer, Depends(guard.viewer_with(FLAG))]
ScriptId = Annotated[int, Path(ge=1, le=2**31 - 1)]


async def _page(
    request: Request,
    who: web.Viewer,
    *,
    error: str = "",
    typed: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    async with web.runtime_of(request).engine.connect() as conn:
        found = await scripts.list_scripts(conn, who.principal)
    settings = web.runtime_of(request).settings
    return web.render(
        request,
        who,
        "sandbox.html",
        {
            "rules": [s for s in found if s.kind == RULE],
            "replies": [s for s in found if s.kind == REPLY],
            "actions": sorted(ACTIONS),
            "settings_rules": settings.sandbox_rules,
            "settings_replies": settings.sandbox_auto_replies,
            "error": error,
            "typed": typed or {},
        },
        status_code=status_code,
        title="Sandbox",
    )


async def _change(
    request: Request,
    fields: dict[str, str],
    who: web.Viewer,
    work: Callable[[AsyncConnection], Awaitable[object]],
) -> Response:
    """Run one write; back to the page, or the page again with the reason."""
    try:
        async with web.runtime_of(request).engine.begin() as conn:
            await work(conn)
    except NotFound as exc:
        return await _page(request, who, error=exc.message, status_code=404)
    except DomainError as exc:
        return await _page(request, who, error=exc.message, typed=fields, status_code=exc.status)
    return RedirectResponse(PATH, status_code=303)


@router.get(PATH)
async def sandbox_page(request: Request, who: Allowed) -> Response:
    return await _page(request, who)


@router.post(PATH)
async def add(request: Request) -> Response:
    guarded = await forms.posted(request, FLAG)
    if not isinstance(guarded, tuple):
        return guarded
    who, fields = guarded
    kind = fields.get("kind", "")
    return await _change(
        request,
        fields,
        who,
        lambda conn: scripts.add_script(
            conn, who.principal, kind, fields.get("prefix"), fields.get("outcome")
        ),
    )


@router.post(PATH + "/{script_id}")
async def update(request: Request, script_id: ScriptId) -> Response:
    guarded = await forms.posted(request, FLAG)
    if not isinstance(guarded, tuple):
        return guarded
    who, fields = guarded
    return await _change(
        request,
        {**fields, "id": str(script_id)},
        who,
        lambda conn: scripts.update_script(
            conn, who.principal, script_id, fields.get("prefix"), fields.get("outcome")
        ),
    )


@router.post(PATH + "/{script_id}/delete")
async def delete(request: Request, script_id: ScriptId) -> Response:
    guarded = await forms.posted(request, FLAG)
    if not isinstance(guarded, tuple):
        return guarded
    who, _ = guarded
    return await _change(
        request, {}, who, lambda conn: scripts.delete_script(conn, who.principal, script_id)
    )
