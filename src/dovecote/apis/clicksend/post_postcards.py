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
    check_return_addresses,
    download,
    entry,
    export_answer,
)
from dovecote.apis.deps import Conn, CurrentPrincipal, DetachedPrincipal, RuntimeDep
from dovecote.channels.post import compose, document, history, items, return_addresses
from dovecote.channels.post.compose import Options
from dovecote.core.errors import InvalidInput
from dovecote.core.models import Principal
from dovecote.core.money import from_micros, to_micros
from dovecote.pipeline import outbound
from dovecote.runtime import Runtime

router = APIRouter(tags=["Post Postcard"])
CHANNEL = compose.POSTCARD
FIELD = "file_urls"
MAX_SIDES = 2
COLUMNS = tuple(c for c in EXPORT_COLUMNS if c not in ("colour", "duplex", "priority_post"))


class PostcardIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    file_urls: list[str] = Field(default_factory=list, max_length=10)
    recipients: list[RecipientIn] = Field(default_factory=list)
    source: str | None = Field(default=None, max_length=100)


async def _sides(body: PostcardIn, runtime: Runtime) -> list[document.Document]:
    """The front and, if given, the back: one or two postcard-sized pages in all."""
    if not 1 <= len(body.file_urls) <= MAX_SIDES:
        raise document.refuse(FIELD, "give one or two PDF URLs (the front, then the back).")
    sides = [
        await document.load(
            url, field=FIELD, kind="postcard", store=runtime.files, settings=runtime.settings
        )
        for url in body.file_urls
    ]
    if sum(side.pages for side in sides) > MAX_SIDES:
        raise document.refuse(FIELD, "a postcard has two sides: at most two pages in all.")
    return sides


async def _accept(
    request: Request, body: PostcardIn, principal: Principal, runtime: Runtime, *, dry_run: bool
) -> JSONResponse:
    accounts.require(principal, "access_post")
    now = time.time()
    recipients = [r.to_domain(i) for i, r in enumerate(body.recipients)]
    if not recipients:
        raise InvalidInput("recipients: at least one is required.", field="recipients")
    sides = await _sides(body, runtime)
    returns = await check_return_addresses(runtime, principal, recipients)
    currency = principal.account.currency
    prepared = compose.compose(
        recipients,
        principal.account,
        runtime.prices,
        channel=CHANNEL,
        now=now,
        document_key="\x00".join(side.key for side in sides),
        unit_price=lambda country: to_micros(
            runtime.prices.unit_price(compose.POSTCARD_PRICE, currency, country)
        ),
        source=body.source,
    )
    if not dry_run and any(item.ok for item in prepared):
        for side in sides:
            await runtime.files.put(side.key, side.data, "application/pdf")
    pages = sum(side.pages for side in sides)
    async with runtime.engine.begin() as conn:
        accepted = await outbound.accept(
            conn,
            principal,
            prepared,
            now=now,
            throttle_window=runtime.settings.sms_throttle_window,
            dry_run=dry_run,
            events=runtime.events,
        )
        if not dry_run:
            await items.attach(
                conn,
                principal.account.id,
                accepted.items,
                kind="postcard",
                options=Options(colour=True),
                pages=pages,
                file_key=sides[0].key,
                back_key=sides[1].key if len(sides) > 1 else None,
                now=int(now),
            )
    url = media_url(request, runtime, sides[0].key) if not dry_run else body.file_urls[0]
    data = {
        "total_price": float(from_micros(accepted.total_price_micros)),
        "total_count": len(accepted.items),
        "queued_count": len(accepted.queued),
        "recipients": [_recipient(item, url, returns, principal) for item in accepted.items],
        "_currency": runtime.prices.currency_info(accepted.currency),
    }
    return envelope(
        data, "Postcard queued for delivery." if not dry_run else "Here are some results."
    )


def _recipient(
    item: outbound.Outbound, url: str, returns: Any, principal: Principal
) -> dict[str, Any]:
    address = item.extra["address"]
    return_id = item.extra["return_address_id"]
    returned = returns.get(return_id) if return_id is not None else None
    return {
        "message_id": item.id if item.ok else None,
        **address.fields(),
        "return_address_id": return_id,
        "_return_address": return_addresses.render(returned) if returned else None,
        "_file_url": url,
        "_api_username": principal.user.username,
        "post_price": f"{from_micros(item.price_micros):.4f}",
        "custom_string": item.custom_string,
        "schedule": item.schedule,
        "source": item.source,
        "date_added": int(time.time()),
        "user_id": principal.user.id,
        "subaccount_id": principal.user.id,
        "status": item.status,
    }


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
    page = await history.list_history(conn, CHANNEL, principal, params)
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
    history.EXPORT_PATHS[CHANNEL].removeprefix("/v3"), summary="Download a postcard history export"
)
async def download_postcard_export(
    request: Request, conn: Conn, runtime: RuntimeDep
) -> StreamingResponse:
    """The link from the postcard export: its signature authorizes it."""
    return await download(request, conn, runtime, CHANNEL, COLUMNS)
