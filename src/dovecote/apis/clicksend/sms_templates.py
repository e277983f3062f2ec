"""`/v3/sms/templates`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict

from dovecote.apis.clicksend.envelope import envelope
from dovecote.apis.clicksend.listing import ListParams, render_page
from dovecote.apis.deps import Conn, CurrentPrincipal
from dovecote.channels.sms import templates
from dovecote.channels.sms.templates import Template

router = APIRouter(tags=["SMS Templates"])

CHANNEL = "sms"
TemplateId = Annotated[int, Path(ge=1, le=2**31 - 1)]


class TemplateIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    # Optional here so that a missing field gets the domain's message naming it.
    template_name: str | None = None
    body: str | None = None


def template(item: Template) -> dict[str, Any]:
    return {"template_id": item.id, "template_name": item.name, "body": item.body}


@router.get("/sms/templates", summary="List of templates")
async def list_templates(
    request: Request, params: ListParams, principal: CurrentPrincipal, conn: Conn
) -> JSONResponse:
    page = await templates.list_templates(conn, principal, CHANNEL, params)
    data = render_page(page, request, lambda row: template(templates.template_from_row(row)))
    return envelope(data, "Here are your data.")


@router.post("/sms/templates", summary="Create a template")
async def create_template(
    principal: CurrentPrincipal, conn: Conn, body: TemplateIn | None = None
) -> JSONResponse:
    fields = body or TemplateIn()
    item = await templates.create_template(
        conn, principal, CHANNEL, fields.template_name, fields.body
    )
    return envelope(template(item), "New template has been saved.")


@router.get("/sms/templates/{template_id}", summary="Get a template")
async def get_template(
    template_id: TemplateId, principal: CurrentPrincipal, conn: Conn
) -> JSONResponse:
    item = await templates.get_template(conn, principal, CHANNEL, template_id)
    return envelope(template(item), "Here is your template.")


@router.put("/sms/templates/{template_id}", summary="Update a template")
async def update_template(
    template_id: TemplateId, principal: CurrentPrincipal, conn: Conn, body: TemplateIn | None = None
) -> JSONResponse:
    fields = body or TemplateIn()
    item = await templates.update_template(
        conn, principal, CHANNEL, template_id, fields.template_name, fields.body
    )
    return envelope(template(item), "Your template has been updated.")


@router.delete("/sms/templates/{template_id}", summary="Delete a template")
async def delete_template(
    template_id: TemplateId, principal: CurrentPrincipal, conn: Conn
) -> JSONResponse:
    await templates.delete_template(conn, principal, CHANNEL, template_id)
    return envelope([], "Your template has been deleted.")
