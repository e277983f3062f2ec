"""`/v3/fax/send` and `/v3/fax/price`: one PDF (`file_url`) to each recipient, per page.

The handler authenticates in a transaction of its own and fetches and checks the
document before opening the one that charges and queues: no database connection is
held while someone else's server answers (on SQLite there is only one).
"""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from dovecote.accounts import service as accounts
from dovecote.apis.clicksend.envelope import envelope
from dovecote.apis.deps import DetachedPrincipal, RuntimeDep
from dovecote.channels.fax import compose
from dovecote.core.errors import InvalidInput
from dovecote.core.models import Principal
from dovecote.core.money import from_micros
from dovecote.pipeline import outbound
from dovecote.pipeline.compose import check_count

router = APIRouter(tags=["Fax"])

PERMISSION = "access_fax"


class FaxMessageIn(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    to: str | None = Field(default=None, max_length=64)
    sender: str | None = Field(default=None, alias="from", max_length=64)
    country: str | None = Field(default=None, max_length=2)
    schedule: int | float | str | None = None
    custom_string: str | None = Field(default=None, max_length=4096)
    source: str | None = Field(default=None, max_length=100)
    from_email: str | None = Field(default=None, max_length=320)
    list_id: int | str | None = None

    def to_domain(self) -> compose.FaxRequest:
        return compose.FaxRequest(
            to=self.to,
            sender=self.sender,
            country=self.country,
            schedule=self.schedule,
            custom_string=self.custom_string,
            source=self.source,
            from_email=self.from_email,
            list_id=self.list_id,
        )


class SendFaxIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    file_url: str | None = Field(default=None, max_length=2000)
    messages: list[FaxMessageIn]


def _message(item: outbound.Outbound, principal: Principal, now: int) -> dict[str, Any]:
    return {
        "to": item.recipient,
        "from": item.sender or None,
        "country": item.country,
        "custom_string": item.custom_string,
        "date_added": now,
        "from_email": item.from_email,
        "list_id": str(item.list_id) if item.list_id is not None else None,
        "message_id": item.id,
        "message_pages": item.parts if item.ok else 0,
        "message_price": f"{from_micros(item.price_micros):.4f}",
        "schedule": str(item.schedule or ""),
        "status": item.status,
        "status_code": None,
        "status_text": None,
        "user_id": principal.user.id,
        "subaccount_id": principal.user.id,
        "carrier": "",
    }


async def _accept(
    body: SendFaxIn, principal: Principal, runtime: RuntimeDep, *, dry_run: bool
) -> dict[str, Any]:
    accounts.require(principal, PERMISSION)
    check_count(body.messages)
    url = (body.file_url or "").strip()
    if not url:
        raise InvalidInput(
            "file_url is required: the URL of your PDF.", code="MISSING_REQUIRED_FIELDS"
        )
    settings = runtime.settings
    fetched = await compose.fetch_document(url, files=runtime.files, settings=settings)
    now = time.time()
    items = compose.compose(
        [message.to_domain() for message in body.messages],
        fetched,
        principal.account,
        runtime.prices,
        now=now,
    )
    if not dry_run and any(item.ok for item in items):
        await compose.keep(runtime.files, fetched)
    async with runtime.engine.begin() as conn:
        accepted = await outbound.accept(
            conn,
            principal,
            items,
            now=now,
            throttle_window=settings.sms_throttle_window,
            dry_run=dry_run,
            events=runtime.events,
        )
    if not dry_run:
        runtime.metrics.accepted.labels("fax").inc(len(accepted.queued))
    queued = len(accepted.queued)
    return {
        "total_price": float(from_micros(accepted.total_price_micros)),
        "total_count": len(accepted.items),
        "queued_count": queued,
        "blocked_count": len(accepted.items) - queued,
        "messages": [_message(item, principal, int(now)) for item in accepted.items],
        "_currency": runtime.prices.currency_info(accepted.currency),
    }


@router.post("/fax/send", summary="Send a fax (a PDF from file_url)")
async def send_fax(
    body: SendFaxIn, principal: DetachedPrincipal, runtime: RuntimeDep
) -> JSONResponse:
    return envelope(
        await _accept(body, principal, runtime, dry_run=False), "Fax queued for delivery."
    )


@router.post("/fax/price", summary="Calculate the price of a fax")
async def price_fax(
    body: SendFaxIn, principal: DetachedPrincipal, runtime: RuntimeDep
) -> JSONResponse:
    return envelope(await _accept(body, principal, runtime, dry_run=True), "Here are your data.")
