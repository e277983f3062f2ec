"""`/v3/mms/send`, `/v3/mms/price`, cancel and cancel-all."""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from dovecote.accounts import service as accounts
from dovecote.apis.clicksend.envelope import envelope
from dovecote.apis.deps import Conn, CurrentPrincipal, DetachedPrincipal, RuntimeDep, link_base
from dovecote.channels.mms import compose as mms
from dovecote.channels.mms import media
from dovecote.core.errors import NotFound
from dovecote.core.models import Principal
from dovecote.core.money import from_micros
from dovecote.files import links
from dovecote.pipeline import outbound
from dovecote.pipeline.scope import scope_for
from dovecote.runtime import Runtime

router = APIRouter(tags=["MMS"])

# How long the media link in a send or price answer works (history hands out fresh ones).
MEDIA_LINK_TTL = 7 * 24 * 3600


class MmsMessageIn(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    to: str | None = Field(default=None, max_length=64)
    body: str | None = Field(default=None, max_length=10_000)
    subject: str | None = Field(default=None, max_length=1000)
    sender: str | None = Field(default=None, alias="from", max_length=64)
    country: str | None = Field(default=None, max_length=2)
    schedule: int | float | str | None = None
    custom_string: str | None = Field(default=None, max_length=4096)
    source: str | None = Field(default=None, max_length=100)
    from_email: str | None = Field(default=None, max_length=320)
    list_id: int | str | None = None

    def to_domain(self) -> mms.MmsRequest:
        return mms.MmsRequest(
            to=self.to,
            body=self.body,
            subject=self.subject,
            sender=self.sender,
            country=self.country,
            schedule=self.schedule,
            custom_string=self.custom_string,
            source=self.source,
            from_email=self.from_email,
            list_id=self.list_id,
        )


class SendMmsIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    media_file: str | None = Field(default=None, max_length=2000)
    messages: list[MmsMessageIn]


class CancelAllIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    custom_string: str | None = None


def media_url(request: Request, runtime: Runtime, key: str) -> str:
    settings = runtime.settings
    return links.signed_url(
        key,
        secret=settings.secret_key,
        base_url=link_base(request, settings),
        expires_at=int(time.time()) + MEDIA_LINK_TTL,
    )


def _message(item: outbound.Outbound, url: str) -> dict[str, Any]:
    """One message; types follow SDK 6's `Mms` (schedule and list_id strings)."""
    return {
        "message_id": item.id,
        "to": item.recipient,
        "from": item.sender,
        "subject": item.subject,
        "body": item.body,
        "country": item.country,
        "custom_string": item.custom_string,
        "schedule": str(item.schedule or ""),
        "message_parts": item.parts,
        "message_price": f"{from_micros(item.price_micros):.4f}",
        "_media_file_url": url,
        "list_id": str(item.list_id) if item.list_id is not None else None,
        "contact_id": None,
        "status": item.status,
    }


async def _accept(
    request: Request, body: SendMmsIn, principal: Principal, runtime: Runtime, *, dry_run: bool
) -> JSONResponse:
    accounts.require(principal, "access_mms")
    now = time.time()
    # The media is checked first, with no database connection held (the fetch may wait
    # seconds on someone's server; SQLite has one connection): a bad file fails the
    # whole request (400 INVALID_MEDIA_FILE), before anything is charged or queued.
    found = await media.load(body.media_file, store=runtime.files, settings=runtime.settings)
    items = mms.compose(
        [message.to_domain() for message in body.messages],
        principal.account,
        runtime.prices,
        now=now,
        media_key=found.key,
    )
    if not dry_run:
        await media.store_for(items, found, runtime.files)
    # One transaction: the debit, the queued rows and their media rows, or none of them.
    async with runtime.engine.begin() as conn:
        accepted = await outbound.accept(
            conn,
            principal,
            items,
            now=now,
            throttle_window=runtime.settings.sms_throttle_window,
            dry_run=dry_run,
            events=runtime.events,
        )
        if not dry_run:
            await media.attach(conn, principal.account.id, accepted.items, found, int(now))
    if not dry_run:
        runtime.metrics.accepted.labels("mms").inc(len(accepted.queued))
    url = media_url(request, runtime, found.key) if not dry_run else body.media_file or ""
    queued = len(accepted.queued)
    data = {
        "total_price": float(from_micros(accepted.total_price_micros)),
        "total_count": len(accepted.items),
        "queued_count": queued,
        "blocked_count": len(accepted.items) - queued,
        "messages": [_message(item, url) for item in accepted.items],
        "_currency": runtime.prices.currency_info(accepted.currency),
    }
    return envelope(
        data, "Messages queued for delivery." if not dry_run else "Here are some results."
    )


@router.post("/mms/send", summary="Send an MMS")
async def send_mms(
    request: Request, body: SendMmsIn, principal: DetachedPrincipal, runtime: RuntimeDep
) -> JSONResponse:
    return await _accept(request, body, principal, runtime, dry_run=False)


@router.post("/mms/price", summary="Calculate MMS price")
async def price_mms(
    request: Request, body: SendMmsIn, principal: DetachedPrincipal, runtime: RuntimeDep
) -> JSONResponse:
    return await _accept(request, body, principal, runtime, dry_run=True)


@router.put("/mms/{message_id}/cancel", summary="Cancel a scheduled MMS")
async def cancel_mms(
    message_id: Annotated[str, Path(max_length=64)], principal: CurrentPrincipal, conn: Conn
) -> JSONResponse:
    accounts.require(principal, "access_mms")
    cancelled = await outbound.cancel(
        conn, principal, "mms", [message_id.upper()], now=time.time(), user_id=_own_only(principal)
    )
    if not cancelled:
        raise NotFound(f"Message {message_id} is not a queued MMS of this account.")
    return envelope(None, "MMS has been cancelled.")


@router.put("/mms/cancel-all", summary="Cancel all scheduled MMS")
async def cancel_all_mms(
    principal: CurrentPrincipal, conn: Conn, body: CancelAllIn | None = None
) -> JSONResponse:
    accounts.require(principal, "access_mms")
    cancelled = await outbound.cancel(
        conn, principal, "mms", None, now=time.time(), user_id=_own_only(principal)
    )
    return envelope({"count": len(cancelled)}, f"{len(cancelled)} MMS have been cancelled.")


def _own_only(principal: Principal) -> int | None:
    """A caller cancels only what it may see in history: without access_reporting, its own."""
    return scope_for(principal).user_id
