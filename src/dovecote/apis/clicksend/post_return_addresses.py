"""`/v3/post/return-addresses`: list, create, read, update and delete."""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from dovecote.accounts import service as accounts
from dovecote.apis.clicksend.envelope import envelope
from dovecote.apis.clicksend.listing import ListParams, render_page
from dovecote.apis.deps import Conn, CurrentPrincipal
from dovecote.channels.post import address as addresses
from dovecote.channels.post import return_addresses

router = APIRouter(tags=["Post Return Address"])

AddressId = Annotated[int, Path(ge=1, le=2**31 - 1)]


class ReturnAddressIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    address_name: str | None = Field(default=None, max_length=1000)
    address_line_1: str | None = Field(default=None, max_length=1000)
    address_line_2: str | None = Field(default=None, max_length=1000)
    address_city: str | None = Field(default=None, max_length=1000)
    address_state: str | None = Field(default=None, max_length=1000)
    address_postal_code: str | int | float | None = None
    address_country: str | None = Field(default=None, max_length=100)

    def to_domain(self) -> addresses.Address:
        return addresses.parse(self.model_dump(), "address")


def _data(row: Any) -> dict[str, Any]:
    return return_addresses.render(row)


@router.get("/post/return-addresses", summary="Get List of Post Return Addresses")
async def list_addresses(
    request: Request, params: ListParams, principal: CurrentPrincipal, conn: Conn
) -> JSONResponse:
    accounts.require(principal, "access_post")
    page = await return_addresses.listing(conn, principal, params)
    return envelope(render_page(page, request, _data), "Here are your data.")


@router.post("/post/return-addresses", summary="Create a Post Return Address")
async def create_address(
    body: ReturnAddressIn, principal: CurrentPrincipal, conn: Conn
) -> JSONResponse:
    accounts.require(principal, "access_post")
    row = await return_addresses.create(conn, principal, body.to_domain(), int(time.time()))
    return envelope(_data(row), "New return address has been added.")


@router.get("/post/return-addresses/{return_address_id}", summary="Get Post Return Address")
async def get_address(
    return_address_id: AddressId, principal: CurrentPrincipal, conn: Conn
) -> JSONResponse:
    accounts.require(principal, "access_post")
    row = await return_addresses.get(conn, principal, return_address_id)
    return envelope(_data(row), "Here is your data.")


@router.put("/post/return-addresses/{return_address_id}", summary="Update Post Return Address")
async def update_address(
    return_address_id: AddressId, body: ReturnAddressIn, principal: CurrentPrincipal, conn: Conn
) -> JSONResponse:
    accounts.require(principal, "access_post")
    # Fields left out keep their value: SDK 6's update model sends only country and state.
    current = await return_addresses.get(conn, principal, return_address_id)
    merged = {**current, **body.model_dump(exclude_unset=True)}
    address = addresses.parse(merged, "address")
    row = await return_addresses.update(conn, principal, return_address_id, address)
    return envelope(_data(row), "Your return address has been updated.")


@router.delete("/post/return-addresses/{return_address_id}", summary="Delete Post Return Address")
async def delete_address(
    return_address_id: AddressId, principal: CurrentPrincipal, conn: Conn
) -> JSONResponse:
    accounts.require(principal, "access_post")
    await return_addresses.delete(conn, principal, return_address_id)
    return envelope([], "Your return address has been deleted.")
