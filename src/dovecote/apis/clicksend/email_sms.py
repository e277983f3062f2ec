"""`/v3/sms/email-sms` (allowed sender addresses) and `/v3/sms/email-sms-stripped-strings`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from dovecote.apis.clicksend.envelope import envelope
from dovecote.apis.clicksend.listing import ListParams, render_page
from dovecote.apis.deps import Conn, CurrentPrincipal
from dovecote.channels.sms import email_sms
from dovecote.channels.sms.email_sms import AllowedAddress, StripRule

router = APIRouter(tags=["Email-to-SMS"])

RowId = Annotated[int, Path(ge=1, le=2**31 - 1)]


class AllowedIn(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    email_address: str | None = Field(default=None, max_length=320)
    sender: str | None = Field(default=None, alias="from", max_length=64)


class StripIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    strip_string: str | None = Field(default=None, max_length=2000)


def allowed(item: AllowedAddress) -> dict[str, Any]:
    return {
        "email_address_id": item.id,
        "email_address": item.email_address,
        "from": item.sender,
        "subaccount_id": item.user_id,
    }


def rule(item: StripRule) -> dict[str, Any]:
    # SDK 6 reads one rule's text as `stripped_string` and a listed rule's as `strip_string`.
    return {
        "rule_id": item.id,
        "strip_string": item.strip_string,
        "stripped_string": item.strip_string,
    }


@router.get("/sms/email-sms", summary="List of Email-to-SMS Allowed Address")
async def list_allowed(
    request: Request, params: ListParams, principal: CurrentPrincipal, conn: Conn
) -> JSONResponse:
    page = await email_sms.list_addresses(conn, principal, params)
    data = render_page(page, request, lambda row: allowed(email_sms.address_from_row(row)))
    return envelope(data, "Here are some data.")


@router.post("/sms/email-sms", summary="Create Email to SMS Allowed Address")
async def create_allowed(
    principal: CurrentPrincipal, conn: Conn, body: AllowedIn | None = None
) -> JSONResponse:
    fields = body or AllowedIn()
    item = await email_sms.create_address(conn, principal, fields.email_address, fields.sender)
    return envelope(allowed(item), "New data has been saved.")


@router.get(
    "/sms/email-sms/{email_address_id}", summary="Get specific Email-to-SMS Allowed Address"
)
async def get_allowed(
    email_address_id: RowId, principal: CurrentPrincipal, conn: Conn
) -> JSONResponse:
    item = await email_sms.get_address(conn, principal, email_address_id)
    return envelope(allowed(item), "Here are some data.")


@router.put("/sms/email-sms/{email_address_id}", summary="Update Email-to-SMS Allowed Address")
async def update_allowed(
    email_address_id: RowId, principal: CurrentPrincipal, conn: Conn, body: AllowedIn | None = None
) -> JSONResponse:
    fields = body or AllowedIn()
    item = await email_sms.update_address(
        conn, principal, email_address_id, fields.email_address, fields.sender
    )
    return envelope(allowed(item), "Your data has been updated.")


@router.delete("/sms/email-sms/{email_address_id}", summary="Delete Email-to-SMS Allowed Address")
async def delete_allowed(
    email_address_id: RowId, principal: CurrentPrincipal, conn: Conn
) -> JSONResponse:
    await email_sms.delete_address(conn, principal, email_address_id)
    return envelope([], "Allowed email address was deleted.")


@router.get("/sms/email-sms-stripped-strings", summary="List Stripped Strings")
async def list_rules(
    request: Request, params: ListParams, principal: CurrentPrincipal, conn: Conn
) -> JSONResponse:
    page = await email_sms.list_rules(conn, principal, params)
    data = render_page(page, request, lambda row: rule(email_sms.rule_from_row(row)))
    return envelope(data, "Here is your result.")


@router.post("/sms/email-sms-stripped-strings", summary="Create Stripped String")
async def create_rule(
    principal: CurrentPrincipal, conn: Conn, body: StripIn | None = None
) -> JSONResponse:
    item = await email_sms.create_rule(conn, principal, (body or StripIn()).strip_string)
    return envelope(rule(item), "Strip string has been created.")


@router.get("/sms/email-sms-stripped-strings/{rule_id}", summary="Find Specific Stripped String")
async def get_rule(rule_id: RowId, principal: CurrentPrincipal, conn: Conn) -> JSONResponse:
    return envelope(
        rule(await email_sms.get_rule(conn, principal, rule_id)), "Here is your result."
    )


@router.put("/sms/email-sms-stripped-strings/{rule_id}", summary="Update Stripped String")
async def update_rule(
    rule_id: RowId, principal: CurrentPrincipal, conn: Conn, body: StripIn | None = None
) -> JSONResponse:
    item = await email_sms.update_rule(conn, principal, rule_id, (body or StripIn()).strip_string)
    return envelope(rule(item), "Strip string has been updated.")


@router.delete("/sms/email-sms-stripped-strings/{rule_id}", summary="Delete Stripped String")
async def delete_rule(rule_id: RowId, principal: CurrentPrincipal, conn: Conn) -> JSONResponse:
    await email_sms.delete_rule(conn, principal, rule_id)
    return envelope(True, "Strip string has been deleted.")
