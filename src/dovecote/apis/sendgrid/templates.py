"""SendGrid's template API: `/v3/templates` and their versions.

Answers in SendGrid's JSON shapes: a template `{id, name, generation, updated_at,
versions}`, a version `{id, template_id, user_id, active (0/1), name, subject,
html_content, plain_content, generate_plain_content, editor, updated_at, ...}`;
`updated_at` as SendGrid writes it ("2021-04-28 13:12:46", UTC). Listing with a
`page_size` answers `{result, _metadata}`; without one, `{templates}` (the legacy shape).
Errors leave as `{"errors": [{"field", "message"}]}` (apis/errors.py, by path).
"""

from __future__ import annotations

import time
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, ConfigDict, StrictBool, StrictInt

from dovecote.apis.deps import Conn, CurrentPrincipal, RuntimeDep, link_base
from dovecote.apis.sendgrid.mail_send import SendGridRoute
from dovecote.channels.email import dynamic_templates as domain
from dovecote.core.errors import InvalidInput

router = APIRouter(tags=["SendGrid Templates"], route_class=SendGridRoute)


class _In(BaseModel):
    model_config = ConfigDict(extra="ignore")


class TemplateIn(_In):
    name: str | None = None
    generation: str | None = None


class VersionIn(_In):
    template_id: str | None = None
    active: StrictInt | StrictBool | None = None
    name: str | None = None
    subject: str | None = None
    html_content: str | None = None
    plain_content: str | None = None
    generate_plain_content: StrictBool | None = None
    editor: str | None = None
    test_data: Any = None


def _time(seconds: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(seconds))


def version_json(version: domain.Version) -> dict[str, Any]:
    return {
        "id": version.id,
        "template_id": version.template_id,
        "user_id": version.user_id,
        "active": 1 if version.active else 0,
        "name": version.name,
        "subject": version.subject,
        "html_content": version.html_content,
        "plain_content": version.plain_content,
        "generate_plain_content": version.generate_plain_content,
        "editor": version.editor,
        "test_data": version.test_data,
        "thumbnail_url": "",
        "updated_at": _time(version.updated_at),
    }


def _version_summary(version: domain.Version) -> dict[str, Any]:
    full = version_json(version)
    return {
        key: full[key]
        for key in (
            "id",
            "template_id",
            "active",
            "name",
            "subject",
            "generate_plain_content",
            "editor",
            "thumbnail_url",
            "updated_at",
        )
    }


def template_json(template: domain.Template, *, full: bool = True) -> dict[str, Any]:
    shape = version_json if full else _version_summary
    return {
        "id": template.id,
        "name": template.name,
        "generation": template.generation,
        "updated_at": _time(template.updated_at),
        "versions": [shape(v) for v in template.versions],
    }


def _fields(body: VersionIn) -> dict[str, Any]:
    return body.model_dump(exclude_unset=True, exclude={"template_id"})


@router.post("/templates", status_code=201, summary="Create a template")
async def create_template(
    principal: CurrentPrincipal, conn: Conn, body: TemplateIn
) -> dict[str, Any]:
    made = await domain.create_template(conn, principal, name=body.name, generation=body.generation)
    return template_json(made)


@router.get("/templates", summary="Retrieve paged transactional templates")
async def list_templates(
    principal: CurrentPrincipal,
    conn: Conn,
    runtime: RuntimeDep,
    request: Request,
    generations: Annotated[str | None, Query()] = None,
    page_size: Annotated[str | None, Query()] = None,
    page_token: Annotated[str | None, Query()] = None,
) -> dict[str, Any]:
    size = None
    if page_size is not None:
        if not page_size.strip().isdigit():
            raise InvalidInput("page_size must be an integer", field="page_size")
        size = int(page_size)
    kinds = domain.parse_generations(generations)
    page = await domain.list_templates(
        conn, principal, generations=kinds, page_size=size, page_token=page_token
    )
    found = [template_json(t, full=False) for t in page.templates]
    if size is None:
        return {"templates": found}
    base = link_base(request, runtime.settings).rstrip("/") + "/v3/templates?"
    params: dict[str, Any] = {"generations": ",".join(kinds), "page_size": size}
    own = {**params, **({"page_token": page_token} if page_token else {})}
    metadata: dict[str, Any] = {"self": base + urlencode(own), "count": page.count}
    if page.next_token is not None:
        metadata["next"] = base + urlencode({**params, "page_token": page.next_token})
    return {"result": found, "_metadata": metadata}


@router.get("/templates/{template_id}", summary="Retrieve a single transactional template")
async def get_template(principal: CurrentPrincipal, conn: Conn, template_id: str) -> dict[str, Any]:
    return template_json(await domain.get_template(conn, principal, template_id))


@router.patch("/templates/{template_id}", summary="Edit a transactional template")
async def edit_template(
    principal: CurrentPrincipal, conn: Conn, template_id: str, body: TemplateIn
) -> dict[str, Any]:
    renamed = await domain.rename_template(conn, principal, template_id, name=body.name)
    return template_json(renamed)


@router.delete("/templates/{template_id}", status_code=204, summary="Delete a template")
async def delete_template(principal: CurrentPrincipal, conn: Conn, template_id: str) -> Response:
    await domain.delete_template(conn, principal, template_id)
    return Response(status_code=204)


@router.post("/templates/{template_id}/versions", status_code=201, summary="Create a new version")
async def create_version(
    principal: CurrentPrincipal, conn: Conn, template_id: str, body: VersionIn
) -> dict[str, Any]:
    made = await domain.create_version(conn, principal, template_id, _fields(body))
    return version_json(made)


@router.get("/templates/{template_id}/versions/{version_id}", summary="Retrieve a specific version")
async def get_version(
    principal: CurrentPrincipal, conn: Conn, template_id: str, version_id: str
) -> dict[str, Any]:
    return version_json(await domain.get_version(conn, principal, template_id, version_id))


@router.patch("/templates/{template_id}/versions/{version_id}", summary="Edit a version")
async def edit_version(
    principal: CurrentPrincipal,
    conn: Conn,
    template_id: str,
    version_id: str,
    body: VersionIn,
) -> dict[str, Any]:
    changed = await domain.update_version(conn, principal, template_id, version_id, _fields(body))
    return version_json(changed)


@router.delete(
    "/templates/{template_id}/versions/{version_id}",
    status_code=204,
    summary="Delete a version",
)
async def delete_version(
    principal: CurrentPrincipal, conn: Conn, template_id: str, version_id: str
) -> Response:
    await domain.delete_version(conn, principal, template_id, version_id)
    return Response(status_code=204)


@router.post(
    "/templates/{template_id}/versions/{version_id}/activate", summary="Activate a version"
)
async def activate_version(
    principal: CurrentPrincipal, conn: Conn, template_id: str, version_id: str
) -> dict[str, Any]:
    return version_json(await domain.activate_version(conn, principal, template_id, version_id))
