"""`/v3/account` and usage."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import JSONResponse
from pydantic import Field

from dovecote.accounts import service as accounts
from dovecote.accounts import usage
from dovecote.apis.clicksend import render
from dovecote.apis.clicksend.bodies import UpdateBody
from dovecote.apis.clicksend.envelope import envelope
from dovecote.apis.deps import Conn, CurrentPrincipal, RuntimeDep

router = APIRouter(tags=["Account"])


class UpdateAccount(UpdateBody):
    # Lengths are the columns' (storage/tables.py): PostgreSQL refuses longer values.
    username: str | None = Field(default=None, min_length=1, max_length=100)
    password: str | None = Field(default=None, max_length=200)
    user_email: str | None = Field(default=None, max_length=320)
    user_phone: str | None = Field(default=None, max_length=32)
    user_first_name: str | None = Field(default=None, max_length=100)
    user_last_name: str | None = Field(default=None, max_length=100)
    account_name: str | None = Field(default=None, max_length=200)
    country: str | None = None
    timezone: str | None = None
    private_uploads: int | None = None
    setting_sms_hide_business_name: int | None = None
    setting_sms_hide_your_number: int | None = None


@router.get("/account", summary="Get account")
async def get_account(principal: CurrentPrincipal, runtime: RuntimeDep) -> JSONResponse:
    data = render.account(principal.account, principal.user, runtime.prices)
    return envelope(data, "Here's your account")


@router.put("/account", summary="Update Account")
async def update_account(
    body: UpdateAccount, principal: CurrentPrincipal, conn: Conn, runtime: RuntimeDep
) -> JSONResponse:
    updated = await accounts.update_account(conn, principal, body.model_dump(exclude_none=True))
    data = render.account(updated.account, updated.user, runtime.prices)
    return envelope(data, "Your account has been updated.")


@router.get("/account/usage/{year}/{month}/subaccount", summary="Get account usage by subaccount")
async def account_usage(
    year: Annotated[int, Path(ge=2000, le=2100)],
    month: Annotated[int, Path(ge=1, le=12)],
    principal: CurrentPrincipal,
    conn: Conn,
    runtime: RuntimeDep,
) -> JSONResponse:
    accounts.require(principal, "access_reporting")
    data = await usage.by_subaccount(conn, principal, year, month)
    data["_currency"] = runtime.prices.currency_info(principal.account.currency)
    return envelope(data, "Here is your usage for this month.")
