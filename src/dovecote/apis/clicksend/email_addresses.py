"""`/v3/email/addresses` and `/v3/email/address-verify`: allowed sender addresses."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict

from dovecote.apis.clicksend.envelope import envelope
from dovecote.apis.clicksend.listing import ListParams, render_page
from dovecote.apis.deps import Conn, CurrentPrincipal, RuntimeDep
from dovecote.channels.email import addresses as email_addresses
from dovecote.channels.email.addresses import SenderAddress, address_from_row

router = APIRouter(tags=["Email"])

AddressId = Annotated[int, Path(ge=1, le=2**31 - 1)]
ActivationToken = Annotated[str, Path(min_length=1, max_length=200)]


class CreateAddress(BaseModel):
    model_config = ConfigDict(extra="ignore")

    email_address: str | None = None


def render_address(address: SenderAddress) -> dict[str, Any]:
    # SDK 6.0.2's EmailAddress: an integer flag, and the date as a string of Unix seconds.
    return {
        "email_address_id": address.id,
        "email_address": address.email,
        "verified": int(address.verified),
        "date_added": str(address.created_at),
    }


def _render_row(row: Mapping[str, Any]) -> dict[str, Any]:
    return render_address(address_from_row(row))


@router.get("/email/addresses", summary="Get all allowed email addresses")
async def list_addresses(
    request: Request, params: ListParams, principal: CurrentPrincipal, conn: Conn
) -> JSONResponse:
    page = await email_addresses.list_addresses(conn, principal, params)
    return envelope(render_page(page, request, _render_row), "Here are your email addresses.")


@router.post("/email/addresses", summary="Create an allowed email address")
async def create_address(
    body: CreateAddress, principal: CurrentPrincipal, conn: Conn
) -> JSONResponse:
    address = await email_addresses.create_address(conn, principal, body.email_address)
    return envelope(render_address(address), "Email address has been created.")


@router.get("/email/addresses/{email_address_id}", summary="Get an allowed email address")
async def get_address(
    email_address_id: AddressId, principal: CurrentPrincipal, conn: Conn
) -> JSONResponse:
    address = await email_addresses.get_address(conn, principal, email_address_id)
    return envelope(render_address(address), "Here is your email address.")


@router.delete("/email/addresses/{email_address_id}", summary="Delete an allowed email address")
async def delete_address(
    email_address_id: AddressId, principal: CurrentPrincipal, conn: Conn
) -> JSONResponse:
    await email_addresses.delete_address(conn, principal, email_address_id)
    return envelope(None, "Email address deleted.")


@router.put("/email/address-verify/{email_address_id}/send", summary="Send a verification token")
async def send_verification(
    email_address_id: AddressId, principal: CurrentPrincipal, conn: Conn, runtime: RuntimeDep
) -> JSONResponse:
    await email_addresses.send_verification(
        conn,
        principal,
        email_address_id,
        settings=runtime.settings,
        mail=runtime.system_mail,
        limiter=runtime.limiter,
    )
    return envelope(None, "Verification email has been sent.")


@router.put(
    "/email/address-verify/{email_address_id}/verify/{activation_token}",
    summary="Verify an allowed email address",
)
async def verify_address(
    email_address_id: AddressId,
    activation_token: ActivationToken,
    principal: CurrentPrincipal,
    conn: Conn,
    runtime: RuntimeDep,
) -> JSONResponse:
    address = await email_addresses.verify(
        conn, principal, email_address_id, activation_token, settings=runtime.settings
    )
    return envelope(render_address(address), "Email address verified.")
