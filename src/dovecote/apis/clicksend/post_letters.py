"""`/v3/post/letters/*`: send, price, history and its CSV export."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncEngine

from dovecote.accounts import service as accounts
from dovecote.apis.clicksend.envelope import envelope
from dovecote.apis.clicksend.listing import ListParams, render_page
from dovecote.apis.clicksend.mms import media_url
from dovecote.apis.clicksend.render import money
from dovecote.apis.deps import Conn, CurrentPrincipal, DetachedPrincipal, RuntimeDep, link_base
from dovecote.channels.post import address as addresses
from dovecote.channels.post import compose, history, return_addresses
from dovecote.channels.post import send as post_send
from dovecote.channels.post.compose import Options, Recipient
from dovecote.core.csvfile import csv_stream
from dovecote.core.models import Principal
from dovecote.core.money import from_micros
from dovecote.pipeline import outbound
from dovecote.pipeline.exports import Export
from dovecote.pipeline.status import HISTORY_STATUS
from dovecote.runtime import Runtime

router = APIRouter(tags=["Post Letter"])
CHANNEL = compose.LETTER


class RecipientIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    address_name: str | None = Field(default=None, max_length=1000)
    address_line_1: str | None = Field(default=None, max_length=1000)
    address_line_2: str | None = Field(default=None, max_length=1000)
    address_city: str | None = Field(default=None, max_length=1000)
    address_state: str | None = Field(default=None, max_length=1000)
    address_postal_code: str | int | None = None
    address_country: str | None = Field(default=None, max_length=100)
    return_address_id: int | None = None
    schedule: int | float | str | None = None
    custom_string: str | None = Field(default=None, max_length=4096)

    def to_domain(self, index: int) -> Recipient:
        found = addresses.parse(self.model_dump(), f"recipients[{index}]")
        # 0 means none: SDK 5's PostRecipient refuses a missing return_address_id.
        return_id = self.return_address_id or None
        return Recipient(found, return_id, self.schedule, self.custom_string)


class LetterIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    file_url: str | None = Field(default=None, max_length=2000)
    recipients: list[RecipientIn] = Field(default_factory=list)
    colour: int = Field(default=0, ge=0, le=1)
    duplex: int = Field(default=0, ge=0, le=1)
    priority_post: int = Field(default=0, ge=0, le=1)
    template_used: int | None = None
    source: str | None = Field(default=None, max_length=100)

    def options(self) -> Options:
        return Options(bool(self.colour), bool(self.duplex), bool(self.priority_post))


def address_fields(row: Mapping[str, Any]) -> dict[str, Any]:
    return {name: row[name] for name in (*addresses.LIMITS, "address_country")}


async def post_accept(
    request: Request,
    principal: Principal,
    runtime: Runtime,
    recipients: list[Recipient],
    printed: post_send.Printed,
    *,
    now: float,
    source: str | None,
    dry_run: bool,
    dry_run_url: str,
    per_request: Mapping[str, Any],
    queued_message: str,
) -> JSONResponse:
    """Send (or price) letters or postcards and answer: one entry per recipient, with the
    fields of the kind (`per_request`: a letter's options, pages and sheets)."""
    sent = await post_send.accept(
        principal,
        recipients,
        printed,
        engine=runtime.engine,
        files=runtime.files,
        prices=runtime.prices,
        events=runtime.events,
        throttle_window=runtime.settings.sms_throttle_window,
        source=source,
        dry_run=dry_run,
        now=now,
    )
    accepted = sent.accepted
    url = dry_run_url if dry_run else media_url(request, runtime, printed.documents[0].key)
    data = {
        "total_price": float(from_micros(accepted.total_price_micros)),
        "total_count": len(accepted.items),
        "queued_count": len(accepted.queued),
        "recipients": [
            _recipient(item, url, per_request, sent.returns, principal) for item in accepted.items
        ],
        "_currency": runtime.prices.currency_info(accepted.currency),
    }
    return envelope(data, queued_message if not dry_run else "Here are some results.")


def _recipient(
    item: outbound.Outbound,
    url: str,
    per_request: Mapping[str, Any],
    returns: Mapping[int, Mapping[str, Any]],
    principal: Principal,
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
        **per_request,
        "post_price": f"{from_micros(item.price_micros):.4f}",
        "custom_string": item.custom_string,
        "schedule": item.schedule,
        "source": item.source,
        "date_added": int(time.time()),
        "user_id": principal.user.id,
        "subaccount_id": principal.user.id,
        "status": item.status,
    }


async def _accept(
    request: Request, body: LetterIn, principal: Principal, runtime: Runtime, *, dry_run: bool
) -> JSONResponse:
    accounts.require(principal, "access_post")
    now = time.time()
    recipients = [r.to_domain(i) for i, r in enumerate(body.recipients)]
    printed = await post_send.load_letter(
        body.file_url,
        body.options(),
        prices=runtime.prices,
        currency=principal.account.currency,
        files=runtime.files,
        settings=runtime.settings,
    )
    per_request = {
        "colour": body.colour,
        "duplex": body.duplex,
        "priority_post": body.priority_post,
        "post_pages": printed.pages,
        "_post_sheets": printed.sheets,
    }
    return await post_accept(
        request,
        principal,
        runtime,
        recipients,
        printed,
        now=now,
        source=body.source,
        dry_run=dry_run,
        dry_run_url=body.file_url or "",
        per_request=per_request,
        queued_message="Letters queued for delivery.",
    )


@router.post("/post/letters/send", summary="Send Post Letter")
async def send_letters(
    request: Request, body: LetterIn, principal: DetachedPrincipal, runtime: RuntimeDep
) -> JSONResponse:
    return await _accept(request, body, principal, runtime, dry_run=False)


@router.post("/post/letters/price", summary="Calculate Price")
async def price_letters(
    request: Request, body: LetterIn, principal: DetachedPrincipal, runtime: RuntimeDep
) -> JSONResponse:
    return await _accept(request, body, principal, runtime, dry_run=True)


# --- history --------------------------------------------------------------------------

EXPORT_COLUMNS = (
    "message_id",
    "date_added",
    "address_name",
    "address_line_1",
    "address_line_2",
    "address_city",
    "address_state",
    "address_postal_code",
    "address_country",
    "return_address_id",
    "colour",
    "duplex",
    "priority_post",
    "post_pages",
    "post_price",
    "status",
    "status_code",
    "status_text",
    "schedule",
    "custom_string",
    "source",
    "subaccount_id",
)


def entry(row: Mapping[str, Any], url: str | None = None) -> dict[str, Any]:
    """One letter or postcard as history shows it (the spec's example's fields)."""
    return {
        "message_id": row["id"],
        "date_added": int(row["created_at"]),
        **address_fields(row),
        "return_address_id": row["return_address_id"],
        "colour": int(row["colour"]),
        "duplex": int(row["duplex"]),
        "priority_post": int(row["priority_post"]),
        "post_pages": int(row["pages"]),
        "post_price": money(int(row["price_micros"])),
        "status": HISTORY_STATUS.get(row["status"], str(row["status"]).capitalize()),
        "status_code": row["status_code"],
        "status_text": row["status_text"],
        "schedule": row["schedule"],
        "custom_string": row["custom_string"],
        "source": row["source"],
        "list_id": row["list_id"],
        "_file_url": url,
        "user_id": row["user_id"],
        "subaccount_id": row["user_id"],
        "_api_username": row["username"],
    }


async def export_rows(
    engine: AsyncEngine, channel: str, export: Export, columns: tuple[str, ...]
) -> AsyncIterator[list[Any]]:
    async for row in history.HISTORIES[channel].export_rows(engine, export):
        cells = entry(row)
        yield [cells[column] for column in columns]


@router.get("/post/letters/history", summary="Get Post Letter History")
async def letter_history(
    request: Request,
    params: ListParams,
    principal: CurrentPrincipal,
    conn: Conn,
    runtime: RuntimeDep,
) -> JSONResponse:
    accounts.require(principal, "access_post")
    page = await history.HISTORIES[CHANNEL].list_history(conn, principal, params)
    data = render_page(
        page, request, lambda row: entry(row, media_url(request, runtime, row["file_key"]))
    )
    return envelope(data, "Here are your data.")


@router.get("/post/letters/history/export", summary="Export Post Letter History")
async def export_letter_history(
    request: Request,
    params: ListParams,
    principal: CurrentPrincipal,
    runtime: RuntimeDep,
    filename: Annotated[str | None, Query(max_length=200)] = None,
) -> JSONResponse:
    accounts.require(principal, "access_post")
    return export_answer(request, CHANNEL, params, principal, runtime, filename)


def export_answer(
    request: Request,
    channel: str,
    params: Any,
    principal: Principal,
    runtime: Runtime,
    filename: str | None,
) -> JSONResponse:
    settings = runtime.settings
    url = history.HISTORIES[channel].export_link(
        principal,
        params,
        date_from=None,
        date_to=None,
        filename=filename,
        secret=settings.secret_key,
        base_url=link_base(request, settings),
        ttl=settings.export_link_ttl,
    )
    return envelope({"url": url}, "Download your file here.")


async def download(
    request: Request, conn: Any, runtime: Runtime, channel: str, columns: tuple[str, ...]
) -> StreamingResponse:
    export = await history.HISTORIES[channel].open_export(
        conn, request.query_params, secret=runtime.settings.secret_key
    )
    return StreamingResponse(
        csv_stream(columns, export_rows(runtime.engine, channel, export, columns)),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{export.filename}"'},
    )


@router.get(
    history.HISTORIES[CHANNEL].export_path.removeprefix("/v3"),
    summary="Download a letter history export",
)
async def download_letter_export(
    request: Request, conn: Conn, runtime: RuntimeDep
) -> StreamingResponse:
    """The link from `/post/letters/history/export`: its signature authorizes it."""
    return await download(request, conn, runtime, CHANNEL, EXPORT_COLUMNS)
