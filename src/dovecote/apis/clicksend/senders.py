"""Sender ids: `/v3/own-numbers`, `/v3/alpha-tags`, `/v3/senders/…`.

These are ClickSend's newer services, and SDK 6 reads their answers without the usual
envelope (`ListOwnNumbers`, `OwnNumber`, `AlphaTag`, `ListAlphaTags` are the bare
objects) — except default senders and compliant sender types, which are enveloped.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from dovecote.apis.clicksend.bodies import UpdateBody
from dovecote.apis.clicksend.envelope import envelope
from dovecote.apis.deps import Conn, CurrentPrincipal, RuntimeDep
from dovecote.core.errors import InvalidInput
from dovecote.numbers import alpha_tags, compliance, default_senders, own_numbers
from dovecote.numbers.alpha_tags import AlphaTag
from dovecote.numbers.default_senders import DefaultSender
from dovecote.numbers.own_numbers import OwnNumber, Verification

router = APIRouter(tags=["Senders"])

ResourceId = Annotated[str, Path(max_length=64)]


def iso(stamp: int | None) -> str | None:
    return None if stamp is None else datetime.fromtimestamp(stamp, UTC).isoformat()


def _pagination(request: Request, page_size: int) -> dict[str, Any]:
    return {"pagination": {"self": str(request.url), "next": None, "page_size": page_size}}


# --- own numbers ------------------------------------------------------------------------


class VerificationIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    phone_number: str | None = Field(default=None, max_length=64)
    country: str | None = Field(default=None, max_length=2)
    label: str | None = Field(default=None, max_length=1000)


class CodeIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    code: str | None = Field(default=None, max_length=32)
    phone_number: str | None = Field(default=None, max_length=64)
    country: str | None = Field(default=None, max_length=2)


class OwnNumberPatch(UpdateBody):
    label: str | None = Field(default=None, max_length=1000)


def own_number(item: OwnNumber) -> dict[str, Any]:
    return {
        "id": item.id,
        "phone_number": item.phone_number,
        "country": item.country,
        "label": item.label,
        "status": item.status,
        "verified_timestamp": iso(item.verified_at),
        "is_nearing_expiration": False,
        "created_timestamp": iso(item.created_at),
        "updated_timestamp": iso(item.updated_at),
    }


def verification(item: Verification) -> dict[str, Any]:
    return {
        "id": item.id,
        "own_number_id": item.own_number_id,
        "status": item.status,
        "expires_timestamp": iso(item.expires_at),
        "remaining_attempts": item.remaining_attempts,
        "created_timestamp": iso(item.created_at),
        "updated_timestamp": iso(item.updated_at),
    }


@router.get("/own-numbers", summary="List own numbers")
async def list_own_numbers(
    request: Request,
    principal: CurrentPrincipal,
    conn: Conn,
    page_size: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> JSONResponse:
    items = await own_numbers.list_own_numbers(conn, principal, limit=page_size, offset=offset)
    body = {
        "own_numbers": [own_number(item) for item in items],
        "_metadata": _pagination(request, page_size),
    }
    return JSONResponse(body)


@router.post("/own-numbers/verifications", summary="Send a verification code to an own number")
async def request_verification(
    principal: CurrentPrincipal, conn: Conn, runtime: RuntimeDep, body: VerificationIn | None = None
) -> JSONResponse:
    fields = body or VerificationIn()
    item = await own_numbers.request_verification(
        conn,
        principal,
        fields.phone_number,
        fields.country,
        fields.label,
        secret=runtime.settings.secret_key,
        throttle_window=runtime.settings.sms_throttle_window,
        events=runtime.events,
    )
    return JSONResponse(verification(item))


@router.post(
    "/own-numbers/verifications/{verification_id}/verify", summary="Verify an own number's code"
)
async def verify_own_number(
    verification_id: ResourceId,
    principal: CurrentPrincipal,
    conn: Conn,
    runtime: RuntimeDep,
    body: CodeIn | None = None,
) -> JSONResponse:
    item = await own_numbers.verify(
        conn,
        principal,
        verification_id,
        (body or CodeIn()).code,
        secret=runtime.settings.secret_key,
    )
    if item.status != own_numbers.VERIFIED:
        # Not raised: the spent attempt is committed with this answer.
        left = item.remaining_attempts
        message = {
            own_numbers.EXPIRED: "The code has expired; request a new one.",
            own_numbers.FAILED: "No attempts left; request a new code.",
        }.get(item.status, f"The code is wrong; {left} attempts left.")
        return envelope(verification(item), message, http_code=400)
    return JSONResponse(verification(item))


@router.get("/own-numbers/{own_number_id}", summary="Get an own number")
async def get_own_number(
    own_number_id: ResourceId, principal: CurrentPrincipal, conn: Conn
) -> JSONResponse:
    return JSONResponse(
        own_number(await own_numbers.get_own_number(conn, principal, own_number_id))
    )


@router.patch("/own-numbers/{own_number_id}", summary="Update an own number's label")
async def update_own_number(
    own_number_id: ResourceId,
    principal: CurrentPrincipal,
    conn: Conn,
    body: OwnNumberPatch | None = None,
) -> JSONResponse:
    label = body.label if body else None
    item = await own_numbers.update_own_number(conn, principal, own_number_id, label)
    return JSONResponse(own_number(item))


@router.delete("/own-numbers/{own_number_id}", summary="Delete an own number")
async def delete_own_number(
    own_number_id: ResourceId, principal: CurrentPrincipal, conn: Conn
) -> JSONResponse:
    item = await own_numbers.delete_own_number(conn, principal, own_number_id)
    return JSONResponse(own_number(item))


# --- alpha tags -------------------------------------------------------------------------


class AlphaTagIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    alpha_tag: str | None = Field(default=None, max_length=64)
    reason: str | None = Field(default=None, max_length=2000)
    countries: list[str] | None = Field(default=None, max_length=250)


def alpha_tag(item: AlphaTag) -> dict[str, Any]:
    return {
        "id": item.id,
        "account_id": str(item.account_id),
        "user_id": str(item.user_id),
        "alpha_tag": item.alpha_tag,
        "status": item.status,
        "reason": item.reason,
        "countries": list(item.countries),
        "created_timestamp": iso(item.created_at),
        "updated_timestamp": iso(item.updated_at),
    }


@router.get("/alpha-tags", summary="List alpha tags")
async def list_alpha_tags(
    request: Request,
    principal: CurrentPrincipal,
    conn: Conn,
    sort_direction: Annotated[str, Query(pattern="^(?i:asc|desc)$")] = "asc",
    page_size: Annotated[int, Query(ge=1, le=1000)] = 10,
) -> JSONResponse:
    descending = sort_direction.lower() == "desc"
    items = await alpha_tags.list_tags(conn, principal, descending=descending, limit=page_size)
    body = {
        "alpha_tags": [alpha_tag(item) for item in items],
        "_metadata": _pagination(request, page_size),
    }
    return JSONResponse(body)


@router.post("/alpha-tags", summary="Request an alpha tag")
async def request_alpha_tag(
    principal: CurrentPrincipal, conn: Conn, runtime: RuntimeDep, body: AlphaTagIn | None = None
) -> JSONResponse:
    fields = body or AlphaTagIn()
    item = await alpha_tags.request_tag(
        conn,
        principal,
        fields.alpha_tag,
        fields.reason,
        fields.countries,
        auto_approve=runtime.settings.alpha_tags_auto_approve,
    )
    return JSONResponse(alpha_tag(item))


@router.get("/alpha-tags/{alpha_tag_id}", summary="Get an alpha tag")
async def get_alpha_tag(
    alpha_tag_id: ResourceId, principal: CurrentPrincipal, conn: Conn
) -> JSONResponse:
    return JSONResponse(alpha_tag(await alpha_tags.get_tag(conn, principal, alpha_tag_id)))


@router.delete("/alpha-tags/{alpha_tag_id}", summary="Delete an alpha tag")
async def delete_alpha_tag(
    alpha_tag_id: ResourceId, principal: CurrentPrincipal, conn: Conn
) -> JSONResponse:
    return JSONResponse(alpha_tag(await alpha_tags.delete_tag(conn, principal, alpha_tag_id)))


# --- default senders and compliance -----------------------------------------------------


class StrategyIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    sender_type: str | None = Field(default=None, max_length=32)
    sender_id: str | None = Field(default=None, max_length=64)
    sender_country_code: str | None = Field(default=None, max_length=2)
    note: str | None = Field(default=None, max_length=1000)


class DefaultSenderIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    country_code: str | None = Field(default=None, max_length=2)
    product_type: str | None = Field(default=None, max_length=8)
    default_sender_strategies: list[StrategyIn] | None = Field(default=None, max_length=100)


class DefaultSenderPatch(BaseModel):
    model_config = ConfigDict(extra="ignore")

    default_sender_strategies: list[StrategyIn] | None = Field(default=None, max_length=100)


def default_sender(item: DefaultSender) -> dict[str, Any]:
    return {
        "id": item.id,
        "user_id": item.user_id,
        "subaccount_id": item.user_id,
        "country_code": item.country_code,
        "product_type": item.product_type,
        "default_sender_strategies": [dict(strategy) for strategy in item.strategies],
        "status": item.status,
        "created_timestamp": iso(item.created_at),
        "updated_timestamp": iso(item.updated_at),
    }


def _strategies(items: list[StrategyIn] | None) -> list[dict[str, Any]] | None:
    return None if items is None else [item.model_dump() for item in items]


@router.get("/senders/compliant-sender-types", summary="Sender types allowed per country")
async def compliant_sender_types(request: Request, principal: CurrentPrincipal) -> JSONResponse:
    query = request.query_params
    # SDK 6 sends `filter[country_code][{index}]=US` literally; people send `[0]`, `[1]`.
    countries = [
        value for key, value in query.multi_items() if key.startswith("filter[country_code]")
    ]
    data = compliance.compliant_sender_types(query.get("filter[product_type]"), countries)
    return envelope({"data": data}, "Here are the compliant sender types.")


@router.get("/senders/default-senders", summary="List default senders")
async def list_default_senders(
    request: Request,
    principal: CurrentPrincipal,
    conn: Conn,
    offset: Annotated[str, Query(max_length=10)] = "0",
    per_page: Annotated[int, Query(ge=1, le=500)] = 50,
    sort_direction: Annotated[str, Query(pattern="^(?i:asc|desc)$")] = "asc",
) -> JSONResponse:
    if not offset.isdigit():
        raise InvalidInput("offset must be a whole number.", field="offset")
    start = int(offset)
    items = await default_senders.list_defaults(
        conn, principal, offset=start, limit=per_page + 1, descending=sort_direction == "desc"
    )
    more = len(items) > per_page
    data = {
        "data": [default_sender(item) for item in items[:per_page]],
        "per_page": per_page,
        "self_page_url": str(request.url),
        "next_page_url": str(request.url.include_query_params(offset=start + per_page))
        if more
        else None,
    }
    return envelope(data, "Here are your default senders.")


@router.post("/senders/default-senders", summary="Create a default sender")
async def create_default_sender(
    principal: CurrentPrincipal, conn: Conn, body: DefaultSenderIn | None = None
) -> JSONResponse:
    fields = body or DefaultSenderIn()
    item = await default_senders.create(
        conn,
        principal,
        fields.country_code,
        fields.product_type,
        _strategies(fields.default_sender_strategies),
    )
    return envelope(default_sender(item), "Default sender has been created.")


@router.get("/senders/default-senders/{default_sender_id}", summary="Get a default sender")
async def get_default_sender(
    default_sender_id: ResourceId, principal: CurrentPrincipal, conn: Conn
) -> JSONResponse:
    item = await default_senders.get(conn, principal, default_sender_id)
    return envelope(default_sender(item), "Here is your default sender.")


@router.patch("/senders/default-senders/{default_sender_id}", summary="Update a default sender")
async def update_default_sender(
    default_sender_id: ResourceId,
    principal: CurrentPrincipal,
    conn: Conn,
    body: DefaultSenderPatch | None = None,
) -> JSONResponse:
    strategies = _strategies(body.default_sender_strategies if body else None)
    item = await default_senders.update(conn, principal, default_sender_id, strategies)
    return envelope(default_sender(item), "Default sender has been updated.")


@router.delete("/senders/default-senders/{default_sender_id}", summary="Delete a default sender")
async def delete_default_sender(
    default_sender_id: ResourceId, principal: CurrentPrincipal, conn: Conn
) -> JSONResponse:
    await default_senders.delete(conn, principal, default_sender_id)
    return envelope(None, "Default sender has been deleted.")
