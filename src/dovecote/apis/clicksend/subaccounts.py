"""`/v3/subaccounts`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse
from pydantic import Field

from dovecote.accounts import service as accounts
from dovecote.accounts.store import user_from_row
from dovecote.apis.clicksend import render
from dovecote.apis.clicksend.bodies import UpdateBody
from dovecote.apis.clicksend.envelope import envelope
from dovecote.apis.clicksend.listing import ListParams, render_page
from dovecote.apis.deps import Conn, CurrentPrincipal

router = APIRouter(tags=["Subaccount"])

SubaccountId = Annotated[int, Path(ge=1, le=2**31 - 1)]
Flag = Annotated[int | None, Field(default=None, ge=0, le=1)]


class SubaccountFields(UpdateBody):
    password: str | None = Field(default=None, min_length=1, max_length=200)
    email: str | None = Field(default=None, max_length=320)
    phone_number: str | None = Field(default=None, max_length=32)
    first_name: str | None = Field(default=None, max_length=100)
    last_name: str | None = Field(default=None, max_length=100)
    notes: str | None = Field(default=None, max_length=2000)
    access_smpp: Flag = None
    access_users: Flag = None
    access_billing: Flag = None
    access_reporting: Flag = None
    access_contacts: Flag = None
    access_settings: Flag = None
    access_sms: Flag = None
    access_email: Flag = None
    access_voice: Flag = None
    access_fax: Flag = None
    access_post: Flag = None
    access_reseller: Flag = None
    access_global_sending: Flag = None
    access_mms: Flag = None


class CreateSubaccount(SubaccountFields):
    api_username: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=1, max_length=200)
    email: str = Field(min_length=3, max_length=320)
    phone_number: str = Field(min_length=1, max_length=32)
    first_name: str = Field(min_length=1, max_length=100)
    last_name: str = Field(min_length=1, max_length=100)


@router.get("/subaccounts", summary="Get all Subaccounts")
async def list_subaccounts(
    request: Request, params: ListParams, principal: CurrentPrincipal, conn: Conn
) -> JSONResponse:
    page, _ = await accounts.list_subaccounts(conn, principal, params)
    data = render_page(page, request, lambda row: render.subaccount(user_from_row(row)))
    return envelope(data, "Here are your data.")


@router.post("/subaccounts", summary="Create a new subaccount")
async def create_subaccount(
    body: CreateSubaccount, principal: CurrentPrincipal, conn: Conn
) -> JSONResponse:
    values = body.model_dump(exclude={"password"})
    created = await accounts.create_subaccount(conn, principal, values, body.password)
    return envelope(
        render.subaccount(created.user, created.api_key), "New account has been created."
    )


@router.get("/subaccounts/{subaccount_id}", summary="Get a specific subaccount")
async def get_subaccount(
    subaccount_id: SubaccountId, principal: CurrentPrincipal, conn: Conn
) -> JSONResponse:
    user = await accounts.get_subaccount(conn, principal, subaccount_id)
    return envelope(render.subaccount(user), "Here are your data.")


@router.put("/subaccounts/{subaccount_id}", summary="Update a specific subaccount")
async def update_subaccount(
    subaccount_id: SubaccountId, body: SubaccountFields, principal: CurrentPrincipal, conn: Conn
) -> JSONResponse:
    user = await accounts.update_subaccount(
        conn, principal, subaccount_id, body.model_dump(exclude_none=True)
    )
    return envelope(render.subaccount(user), "Subaccount has been updated.")


@router.delete("/subaccounts/{subaccount_id}", summary="Delete a specific subaccount")
async def delete_subaccount(
    subaccount_id: SubaccountId, principal: CurrentPrincipal, conn: Conn
) -> JSONResponse:
    await accounts.delete_subaccount(conn, principal, subaccount_id)
    return envelope(True, f"Subaccount #{subaccount_id} has been deleted")


@router.put("/subaccounts/{subaccount_id}/regen-api-key", summary="Regenerate API Key")
async def regenerate_api_key(
    subaccount_id: SubaccountId, principal: CurrentPrincipal, conn: Conn
) -> JSONResponse:
    created = await accounts.regenerate_key(conn, principal, subaccount_id)
    return envelope(
        render.subaccount(created.user, created.api_key), "API key has been regenerated."
    )
