"""`/v3/email/send`, `/v3/email/price`, `/v3/email/history` and its CSV export."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncEngine

from dovecote.apis.clicksend import email_request as email_domain
from dovecote.apis.clicksend.envelope import envelope
from dovecote.apis.clicksend.listing import ListParams, render_page
from dovecote.apis.deps import Conn, CurrentPrincipal, RuntimeDep, client_ip, link_base
from dovecote.channels.email import compose as email_channel
from dovecote.channels.email import history as email_history
from dovecote.channels.email.history import EmailSummary
from dovecote.core.csvfile import csv_stream
from dovecote.core.money import from_micros
from dovecote.pipeline.exports import Export
from dovecote.pipeline.pricing import PriceBook
from dovecote.pipeline.status import HISTORY_STATUS

router = APIRouter(tags=["Transactional Email"])

UnixTime = Annotated[int | None, Query(ge=0, le=2**53, description="Unix seconds (UTC).")]


class RecipientIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    email: str | None = Field(default=None, max_length=320)
    name: str | None = Field(default=None, max_length=200)

    def to_domain(self) -> email_channel.AddressIn:
        return email_channel.AddressIn(self.email, self.name)


class FromIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    # The 6.0.2 SDK sends the id as a string, the spec as a number.
    email_address_id: int | str | None = None
    name: str | None = Field(default=None, max_length=200)


class AttachmentIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    content: str | None = None
    type: str | None = Field(default=None, max_length=200)
    filename: str | None = Field(default=None, max_length=255)
    disposition: str | None = Field(default=None, max_length=20)
    content_id: str | None = Field(default=None, max_length=255)


class EmailIn(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    to: list[RecipientIn] | None = None
    cc: list[RecipientIn] | None = None
    bcc: list[RecipientIn] | None = None
    sender: FromIn | None = Field(default=None, alias="from")
    subject: str | None = None
    body: str | None = None
    attachments: list[AttachmentIn] | None = None
    schedule: int | float | str | None = None
    custom_string: str | None = Field(default=None, max_length=4096)

    def to_domain(self) -> email_domain.EmailRequest:
        sender = self.sender or FromIn()
        return email_domain.EmailRequest(
            to=[item.to_domain() for item in self.to or ()],
            cc=[item.to_domain() for item in self.cc or ()],
            bcc=[item.to_domain() for item in self.bcc or ()],
            email_address_id=sender.email_address_id,
            from_name=sender.name,
            subject=self.subject,
            body=self.body,
            attachments=[
                email_channel.AttachmentIn(
                    a.content, a.filename, a.type, a.disposition, a.content_id
                )
                for a in self.attachments or ()
            ],
            schedule=self.schedule,
            custom_string=self.custom_string,
        )


def _people(items: Any) -> list[dict[str, Any]]:
    return [{"email": item["email"], "name": item.get("name")} for item in items]


def transactional_email(item: EmailSummary, currency: dict[str, str] | None) -> dict[str, Any]:
    """The SDK's TransactionalEmail: ints stay ints, `price` is a string."""
    return {
        "user_id": item.user_id,
        "subaccount_id": item.user_id,
        "from_email_address_id": item.from_email_address_id,
        "from_name": item.from_name,
        "from": item.sender,
        "to": _people(item.to),
        "cc": _people(item.cc) or None,
        "bcc": _people(item.bcc) or None,
        "subject": item.subject,
        "body": item.body,
        "body_plain_text": item.body_plain_text,
        "schedule": item.schedule or item.created_at,
        "message_id": item.message_id,
        "status": HISTORY_STATUS.get(item.status, item.status.capitalize()),
        "status_text": item.status_text,
        "soft_bounce_count": item.soft_bounces,
        "hard_bounce_count": item.hard_bounces,
        "price": f"{from_micros(item.price_micros):.4f}",
        "date_added": item.created_at,
        "custom_string": item.custom_string,
        # Attachments are not hosted for download, so there is no file URL.
        "_attachments": [{**a, "_attachment_file_url": None} for a in item.attachments],
        "_currency": currency,
    }


@router.post("/email/send", summary="Send transactional email")
async def send_email(
    body: EmailIn,
    request: Request,
    principal: CurrentPrincipal,
    conn: Conn,
    runtime: RuntimeDep,
) -> JSONResponse:
    prices: PriceBook = runtime.prices
    queued = await email_domain.send(
        conn,
        principal,
        body.to_domain(),
        settings=runtime.settings,
        events=runtime.events,
        prices=prices,
        originating_ip=client_ip(request),
    )
    runtime.metrics.accepted.labels("email").inc(len(queued.recipients))
    data = transactional_email(
        email_history.summary_of(queued, principal), prices.currency_info(queued.currency)
    )
    return envelope(data, "Transactional email queued for delivery.")


@router.post("/email/price", summary="Calculate transactional email price")
async def price_email(
    body: EmailIn, principal: CurrentPrincipal, conn: Conn, runtime: RuntimeDep
) -> JSONResponse:
    prices: PriceBook = runtime.prices
    priced = await email_domain.price(
        conn, principal, body.to_domain(), settings=runtime.settings, prices=prices
    )
    mail = priced.email
    data = {
        "to_array": [{"email": b.email, "name": b.name} for b in mail.to],
        "cc_array": [{"email": b.email, "name": b.name} for b in mail.cc] or None,
        "bcc_array": [{"email": b.email, "name": b.name} for b in mail.bcc] or None,
        "subject": mail.subject,
        "body": mail.html,
        "recipient_count": len(priced.recipients),
        # A number here, as in the spec's example (send answers a string).
        "price": float(from_micros(priced.price_micros)),
        "_currency": prices.currency_info(priced.currency),
    }
    return envelope(data, "Here's the email price.")


@router.get("/email/history", summary="Get all transactional email history")
async def list_history(
    request: Request,
    params: ListParams,
    principal: CurrentPrincipal,
    conn: Conn,
    runtime: RuntimeDep,
    date_from: UnixTime = None,
    date_to: UnixTime = None,
) -> JSONResponse:
    page, items = await email_history.list_history(
        conn, principal, params, date_from=date_from, date_to=date_to
    )
    prices: PriceBook = runtime.prices
    by_id = {item.message_id: item for item in items}
    currency = prices.currency_info(principal.account.currency)
    data = render_page(page, request, lambda row: transactional_email(by_id[row["id"]], currency))
    return envelope(data, "Here is your result.")


# The columns of an export, in order.
EXPORT_COLUMNS = (
    "message_id",
    "date_added",
    "from",
    "from_name",
    "to",
    "cc",
    "bcc",
    "subject",
    "status",
    "status_text",
    "price",
    "schedule",
    "soft_bounce_count",
    "hard_bounce_count",
    "custom_string",
    "subaccount_id",
    "_api_username",
)


def _addresses(items: Any) -> str:
    return "; ".join(item["email"] for item in items or ())


async def _export_rows(engine: AsyncEngine, export: Export) -> AsyncIterator[list[Any]]:
    async for item in email_history.export_entries(engine, export):
        cells = transactional_email(item, None)
        cells.update(
            to=_addresses(item.to),
            cc=_addresses(item.cc),
            bcc=_addresses(item.bcc),
            _api_username=item.username,
        )
        yield [cells[column] for column in EXPORT_COLUMNS]


@router.get("/email/history/export", summary="Export transactional email history")
async def export_history(
    request: Request,
    params: ListParams,
    principal: CurrentPrincipal,
    runtime: RuntimeDep,
    filename: Annotated[str | None, Query(max_length=200)] = None,
    date_from: UnixTime = None,
    date_to: UnixTime = None,
) -> JSONResponse:
    settings = runtime.settings
    url = email_history.export_link(
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
    email_history.EXPORT_PATH.removeprefix("/v3"), summary="Download an email history export"
)
async def download_export(request: Request, conn: Conn, runtime: RuntimeDep) -> StreamingResponse:
    """The link from `/email/history/export`: its signature, not Basic auth, authorizes it."""
    export = await email_history.open_export(
        conn, request.query_params, secret=runtime.settings.secret_key
    )
    return StreamingResponse(
        csv_stream(EXPORT_COLUMNS, _export_rows(runtime.engine, export)),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{export.filename}"'},
    )
