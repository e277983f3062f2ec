"""Settings › Templates: SMS templates (`/v3/sms/templates`, which the API lets every
user of the account use) and email templates (`/v3/email/templates`, `access_email`),
each changed by its channel's own template code. A user without `access_email` sees
the SMS part only and is refused the email forms, as the API refuses it.

Dashboard forms are capped at 64 KB (`web.MAX_FORM_BYTES`): a larger email template
body is one for the API (1,000,000 characters).
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncConnection

from dovecote.channels.email import templates as email_templates
from dovecote.channels.sms import templates as sms_templates
from dovecote.core.errors import DomainError
from dovecote.core.models import Principal
from dovecote.dashboard import guard, web
from dovecote.dashboard import settings_forms as forms
from dovecote.storage.listing import ListQuery

router = APIRouter(include_in_schema=False, route_class=guard.PageRoute)

TITLE = "Templates"
SMS = "sms"
Channel = Literal["sms", "email"]
TemplateId = Annotated[int, Path(ge=1, le=2**31 - 1)]
# What each channel's templates need, as their API routers check it.
FLAGS: dict[str, str | None] = {SMS: None, "email": email_templates.PERMISSION}


async def _page(
    request: Request, who: web.Viewer, *, error: DomainError | None = None, notice: str = ""
) -> Response:
    shown = ListQuery(limit=forms.SHOWN)
    async with web.runtime_of(request).engine.connect() as conn:
        sms = await sms_templates.list_templates(conn, who.principal, SMS, shown)
        email = (
            await email_templates.list_templates(conn, who.principal, shown)
            if who.can(email_templates.PERMISSION)
            else None
        )
    context = {
        "sms": [sms_templates.template_from_row(row) for row in sms.rows],
        "email": None
        if email is None
        else [email_templates.template_from_row(row) for row in email.rows],
    }
    return forms.section(
        request, who, "_templates.html", context, title=TITLE, error=error, notice=notice
    )


async def _save(
    conn: AsyncConnection,
    principal: Principal,
    channel: Channel,
    template_id: int | None,
    name: str | None,
    body: str | None,
) -> str:
    """Create (no id) or update one template of `channel`; its name."""
    if channel == SMS:
        if template_id is None:
            return (await sms_templates.create_template(conn, principal, SMS, name, body)).name
        changed = await sms_templates.update_template(conn, principal, SMS, template_id, name, body)
        return changed.name
    if template_id is None:
        return (await email_templates.create_template(conn, principal, name=name, body=body)).name
    updated = await email_templates.update_template(
        conn, principal, template_id, name=name, body=body
    )
    return updated.name


async def _delete(
    conn: AsyncConnection, principal: Principal, channel: Channel, template_id: int
) -> None:
    if channel == SMS:
        await sms_templates.delete_template(conn, principal, SMS, template_id)
    else:
        await email_templates.delete_template(conn, principal, template_id)


@router.get("/settings/templates")
async def templates_page(request: Request, who: guard.SignedIn) -> Response:
    return await _page(request, who)


async def _change(request: Request, channel: Channel, template_id: int | None) -> Response:
    guarded = await forms.posted(request, FLAGS[channel])
    if not isinstance(guarded, tuple):
        return guarded
    who, fields = guarded
    try:
        async with web.runtime_of(request).engine.begin() as conn:
            name = await _save(
                conn, who.principal, channel, template_id, fields.get("name"), fields.get("body")
            )
    except DomainError as exc:
        return await _page(request, who, error=exc)
    verb = "created" if template_id is None else "saved"
    return await _page(request, who, notice=f"Template {name} {verb}.")


@router.post("/settings/templates/{channel}")
async def create(request: Request, channel: Channel) -> Response:
    return await _change(request, channel, None)


@router.post("/settings/templates/{channel}/{template_id}")
async def update(request: Request, channel: Channel, template_id: TemplateId) -> Response:
    return await _change(request, channel, template_id)


@router.post("/settings/templates/{channel}/{template_id}/delete")
async def delete(request: Request, channel: Channel, template_id: TemplateId) -> Response:
    guarded = await forms.posted(request, FLAGS[channel])
    if not isinstance(guarded, tuple):
        return guarded
    who, _ = guarded
    try:
        async with web.runtime_of(request).engine.begin() as conn:
            await _delete(conn, who.principal, channel, template_id)
    except DomainError as exc:
        return await _page(request, who, error=exc)
    return await _page(request, who, notice="Template deleted.")
