"""`/v3/email/templates`: users' email templates."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, field_validator

from dovecote.apis.clicksend.envelope import envelope
from dovecote.apis.clicksend.listing import ListParams, render_page
from dovecote.apis.deps import Conn, CurrentPrincipal
from dovecote.channels.email import templates as email_templates
from dovecote.channels.email.templates import EmailTemplate, template_from_row

router = APIRouter(tags=["Email"])

TemplateId = Annotated[int, Path(ge=1, le=2**31 - 1)]


class CreateTemplate(BaseModel):
    """The spec copies a master (`template_id_master`); Dovecote also takes a `body`."""

    model_config = ConfigDict(extra="ignore")

    template_name: str | None = None
    template_id_master: int | None = None
    body: str | None = None

    @field_validator("template_id_master", mode="before")
    @classmethod
    def _not_a_bool(cls, value: Any) -> Any:
        # Lax parsing reads `true` as master 1; an id is a number (the contract run found it).
        if isinstance(value, bool):
            raise ValueError("template_id_master must be a number")
        return value


class UpdateTemplate(BaseModel):
    model_config = ConfigDict(extra="ignore")

    template_name: str | None = None
    body: str | None = None


def render_template(template: EmailTemplate) -> dict[str, Any]:
    return {
        "template_id": template.id,
        "template_name": template.name,
        "template_id_master": template.template_id_master,
        "body": template.body,
    }


def _render_summary(row: Mapping[str, Any]) -> dict[str, Any]:
    template = template_from_row(row)
    return {
        "template_id": template.id,
        "template_name": template.name,
        "template_id_master": template.template_id_master,
    }


@router.get("/email/templates", summary="Get all email templates")
async def list_templates(
    request: Request, params: ListParams, principal: CurrentPrincipal, conn: Conn
) -> JSONResponse:
    page = await email_templates.list_templates(conn, principal, params)
    return envelope(render_page(page, request, _render_summary), "Here are your email templates.")


@router.post("/email/templates", summary="Create an email template")
async def create_template(
    body: CreateTemplate, principal: CurrentPrincipal, conn: Conn
) -> JSONResponse:
    template = await email_templates.create_template(
        conn,
        principal,
        name=body.template_name,
        body=body.body,
        template_id_master=body.template_id_master,
    )
    return envelope(render_template(template), "New email template has been saved.")


@router.get("/email/templates/{template_id}", summary="Get an email template")
async def get_template(
    template_id: TemplateId, principal: CurrentPrincipal, conn: Conn
) -> JSONResponse:
    template = await email_templates.get_template(conn, principal, template_id)
    return envelope(render_template(template), "Here is your email template.")


@router.put("/email/templates/{template_id}", summary="Update an email template")
async def update_template(
    template_id: TemplateId, body: UpdateTemplate, principal: CurrentPrincipal, conn: Conn
) -> JSONResponse:
    template = await email_templates.update_template(
        conn, principal, template_id, name=body.template_name, body=body.body
    )
    return envelope(render_template(template), "Your email template has been updated.")


@router.delete("/email/templates/{template_id}", summary="Delete an email template")
async def delete_template(
    template_id: TemplateId, principal: CurrentPrincipal, conn: Conn
) -> JSONResponse:
    await email_templates.delete_template(conn, principal, template_id)
    return envelope([], "Your email template has been deleted.")
