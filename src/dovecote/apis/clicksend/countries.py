"""`/v3/country-list` and the countries an account chose for global sending
(`/v3/user-countries`, `/v3/user-countries/agree`)."""

from __future__ import annotations

import time

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from dovecote.accounts import countries
from dovecote.accounts import service as accounts
from dovecote.apis.clicksend.envelope import envelope
from dovecote.apis.deps import Conn, CurrentPrincipal

router = APIRouter(tags=["Global Sending"])


class CountryIds(BaseModel):
    model_config = ConfigDict(extra="ignore")

    country_list_ids: list[int] = Field(max_length=countries.MAX_CHOSEN)


@router.get("/country-list", summary="List Countries")
async def country_list(principal: CurrentPrincipal) -> JSONResponse:
    return envelope(list(countries.country_list()), "List of Countries.")


@router.get("/user-countries", summary="Get Countries for Global Sending")
async def chosen_countries(principal: CurrentPrincipal, conn: Conn) -> JSONResponse:
    data = await countries.chosen(conn, principal.account.id)
    return envelope(data, "Here are your countries selection.")


@router.post("/user-countries", summary="Select Countries for Global Sending")
async def choose_countries(
    body: CountryIds, principal: CurrentPrincipal, conn: Conn
) -> JSONResponse:
    accounts.require(principal, "access_global_sending")
    data = await countries.choose(
        conn, principal.account.id, body.country_list_ids, now=int(time.time())
    )
    return envelope(data, "Here are your countries selection.")


@router.post("/user-countries/agree", summary="Agree to rules and regulation")
async def agree(principal: CurrentPrincipal, conn: Conn) -> JSONResponse:
    accounts.require(principal, "access_global_sending")
    data = await countries.agree(conn, principal.account.id, now=int(time.time()))
    return envelope(data, "Here are your countries selection.")
