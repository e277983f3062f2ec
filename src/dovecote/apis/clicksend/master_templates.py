"""`/v3/email/master-templates` and their categories: the packaged, read-only gallery.

The SDK reads these lists as plain arrays, not pages, so they take no `page`/`limit`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from fastapi.responses import JSONResponse

from dovecote.apis.clicksend.envelope import envelope
from dovecote.apis.deps import CurrentPrincipal
from dovecote.channels.email import master_templates
from dovecote.channels.email.master_templates import Category, MasterTemplate

router = APIRouter(tags=["Email"])

TemplateId = Annotated[int, Path(ge=1, le=2**31 - 1)]
CategoryId = Annotated[int, Path(ge=1, le=2**31 - 1)]


def render_template(template: MasterTemplate, *, body: bool = True) -> dict[str, Any]:
    # SDK 6.0.2 wants `date_added` as an integer here (the spec's examples show a string).
    data: dict[str, Any] = {
        "template_id_master": template.id,
        "template_name": template.name,
        "category_id": template.category_id,
        "date_added": template.date_added,
        "thumbnail": {"small": template.thumbnail, "large": template.thumbnail},
    }
    if body:
        data["body"] = template.body
    return data


def render_category(category: Category) -> dict[str, Any]:
    # The spec names the field `name`; SDK 6.0.2 reads `category_name` in lists. Both are sent.
    return {"category_id": category.id, "name": category.name, "category_name": category.name}


@router.get("/email/master-templates", summary="Get all master email templates")
async def list_master_templates(principal: CurrentPrincipal) -> JSONResponse:
    templates = master_templates.list_templates()
    return envelope(
        [render_template(t, body=False) for t in templates], "List of Email Master Templates"
    )


@router.get("/email/master-templates/{template_id}", summary="Get a master email template")
async def get_master_template(template_id: TemplateId, principal: CurrentPrincipal) -> JSONResponse:
    template = master_templates.get_template(template_id)
    return envelope(render_template(template), "Here is your email template.")


@router.get("/email/master-templates-categories", summary="Get all master template categories")
async def list_categories(principal: CurrentPrincipal) -> JSONResponse:
    categories = master_templates.list_categories()
    return envelope([render_category(c) for c in categories], "List of Email Categories")


@router.get(
    "/email/master-templates-categories/{category_id}", summary="Get a master template category"
)
async def get_category(category_id: CategoryId, principal: CurrentPrincipal) -> JSONResponse:
    category = master_templates.get_category(category_id)
    return envelope(render_category(category), "Here is your email template category.")


@router.get(
    "/email/master-templates-categories/{category_id}/master-templates",
    summary="Get all master templates in a category",
)
async def list_templates_in_category(
    category_id: CategoryId, principal: CurrentPrincipal
) -> JSONResponse:
    templates = master_templates.templates_in_category(category_id)
    return envelope([render_template(t) for t in templates], "List of Email Templates By Category")
