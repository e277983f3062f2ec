"""`/v3/post/postcards/*`: send, price, history and its CSV export (at both paths: the
spec's `/post/postcards/export` and SDK 5's `/post/postcards/history/export`)."""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from dovecote.accounts import service as accounts
from dovecote.apis.clicksend.envelope import envelope
from dovecote.apis.clicksend.listing import ListParams, render_page
from dovecote.apis.clicksend.mms import media_url
from dovecote.apis.clicksend.post_letters import (
    EXPORT_COLUMNS,
    RecipientIn,
    download,
    entry,
    export_answer,
    post_accept,
)
from dovecote.apis.deps import Conn, CurrentPrincipal, DetachedPrincipal, RuntimeDep
from dovecote.channels.post import compose, history
from dovecote.channels.post import send as post_send
from dovecote.core.errors import InvalidInput
from dovecote.core.models import Principal
from dovecote.runtime import Runtime

router = APIRouter(tags=["Post Postcard"])
CHANNEL = compose.POSTCARD
COLUMNS = tuple(c for c in EXPORT_COLUMNS if c not in ("colour", "duplex", "priority_post"))


class PostcardIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    file_urls: list[str] = Field(default_factory=list, max_length=10)
    recipients: list[RecipientIn] = Field(default_factory=list)
    source: str | None = Field(default=None, max_length=100)


async def _accept(
    request: Request, body: PostcardIn, principal: Principal, runtime: Runtime, *, dry_run: bool
) -> JSONResponse:
    accounts.require(principal, "access_post")
    now = time.time()
    recipients = [r.to_domain(i) for i, r in enumerate(body.recipients)]
    if not recipients:
        raise InvalidInput("recipients: at least one is required.", field="recipients")
    printed = await post_send.load_postcard(
        body.file_urls,
        prices=runtime.prices,
        currency=principal.account.currency,
        files=runtime.files,
        settings=runtime.settings,
    )
    return await post_accept(
        request,
        principal,
        runtime,
        recipients,
        printed,
        now=now,
        source=body.source,
        dry_run=dry_run,
        dry_run_url=body.file_urls[0],
        per_request={},
        queued_message="Postcard queued for delivery.",
    )


@router.post("/post/postcards/send", summary="Send Postcard")
async def send_postcards(
    request: Request, body: PostcardIn, principal: DetachedPrincipal, runtime: RuntimeDep
) -> JSONResponse:
    return await _accept(request, body, principal, runtime, dry_run=False)


@router.post("/post/postcards/price", summary="Calculate Pricing")
async def price_postcards(
    request: Request, body: PostcardIn, principal: DetachedPrincipal, runtime: RuntimeDep
) -> JSONResponse:
    return await _accept(request, body, principal, runtime, dry_run=True)


def _entry(request: Request, runtime: Runtime, row: Any) -> dict[str, Any]:
    shown = entry(row, media_url(request, runtime, row["file_key"]))
    for name in ("colour", "duplex", "priority_post"):
        shown.pop(name)
    back = row["back_key"]
    shown["_back_file_url"] = media_url(request, runtime, back) if back else None
    return shown


@router.get("/post/postcards/history", summary="Get Postcard History")
async def postcard_history(
    request: Request,
    params: ListParams,
    principal: CurrentPrincipal,
    conn: Conn,
    runtime: RuntimeDep,
) -> JSONResponse:
    accounts.require(principal, "access_post")
    page = await history.HISTORIES[CHANNEL].list_history(conn, principal, params)
    data = render_page(page, request, lambda row: _entry(request, runtime, row))
    return envelope(data, "Here are your data.")


@router.get("/post/postcards/history/export", summary="Export Postcard History")
@router.get("/post/postcards/export", summary="Export Postcard History (the spec's path)")
async def export_postcard_history(
    request: Request,
    params: ListParams,
    principal: CurrentPrincipal,
    runtime: RuntimeDep,
    filename: Annotated[str | None, Query(max_length=200)] = None,
) -> JSONResponse:
    accounts.require(principal, "access_post")
    return export_answer(request, CHANNEL, params, principal, runtime, filename)


@router.get(
    history.HISTORIES[CHANNEL].export_path.removeprefix("/v3"),
    summary="Download a postcard history export",
)
async def download_postcard_export(
    request: Request, conn: Conn, runtime: RuntimeDep
) -> StreamingResponse:
    """The link from the postcard export: its signature authorizes it."""
    return await download(request, conn, runtime, CHANNEL, COLUMNS)
