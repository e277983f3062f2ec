"""Users' email templates: named HTML bodies kept per account, shared by its users.

A template is either written from scratch (`body`) or copied from a master template
(`template_id_master`). The `templates` table has no column for the master's id, so the
copy carries it in a `<meta>` tag inside its own HTML: the link survives edits that keep
the head, and disappears, truthfully, when the body is replaced by something else.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from dovecote.accounts.service import now, require
from dovecote.channels.email import master_templates
from dovecote.channels.email import templates_store as store
from dovecote.core.errors import InvalidInput, NotFound
from dovecote.core.models import Principal
from dovecote.core.templating import validate_body, validate_name
from dovecote.storage.listing import ListQuery, Page

PERMISSION = "access_email"
MAX_BODY = 1_000_000  # characters; requests are capped in bytes before they get here
_MARKER = '<meta name="dovecote-master-template" content="{id}">'
_MARKER_PATTERN = re.compile(r'<meta name="dovecote-master-template" content="(\d+)">')
_HEAD = re.compile(r"<head\b[^>]*>", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class EmailTemplate:
    id: int
    name: str
    body: str
    template_id_master: int | None
    user_id: int
    created_at: int


def template_from_row(row: Mapping[Any, Any]) -> EmailTemplate:
    return EmailTemplate(
        id=int(row["id"]),
        name=row["name"],
        body=row["body"],
        template_id_master=master_id_of(row["body"]),
        user_id=int(row["user_id"]),
        created_at=int(row["created_at"]),
    )


def master_id_of(body: str) -> int | None:
    found = _MARKER_PATTERN.search(body)
    return int(found.group(1)) if found else None


def with_master_marker(body: str, master_id: int) -> str:
    """`body` marked as based on master template `master_id` (any older mark replaced)."""
    marker = _MARKER.format(id=master_id)
    body = _MARKER_PATTERN.sub("", body)
    head = _HEAD.search(body)
    if head is None:  # a fragment: a leading <meta> is harmless there
        return marker + body
    return body[: head.end()] + "\n" + marker + body[head.end() :]


def _master(template_id_master: int) -> master_templates.MasterTemplate:
    try:
        return master_templates.get_template(template_id_master)
    except NotFound:
        raise InvalidInput(
            f"template_id_master {template_id_master} is not a master template.",
            field="template_id_master",
        ) from None


async def list_templates(conn: AsyncConnection, principal: Principal, params: ListQuery) -> Page:
    require(principal, PERMISSION)
    return await store.list_templates(conn, principal.account.id, params)


async def get_template(
    conn: AsyncConnection, principal: Principal, template_id: int
) -> EmailTemplate:
    require(principal, PERMISSION)
    row = await store.get_template(conn, principal.account.id, template_id)
    if row is None:
        raise NotFound(f"Email template #{template_id} not found.")
    return template_from_row(row)


async def create_template(
    conn: AsyncConnection,
    principal: Principal,
    *,
    name: str | None,
    body: str | None = None,
    template_id_master: int | None = None,
) -> EmailTemplate:
    """A template from `body`, or from a copy of the master's body when no body is given."""
    require(principal, PERMISSION)
    checked_name = validate_name(name)
    if template_id_master is None and body is None:
        raise InvalidInput(
            "body is required (or template_id_master, to copy a master template).", field="body"
        )
    if template_id_master is None:
        html = validate_body(body, MAX_BODY)
    else:
        master = _master(template_id_master)
        html = with_master_marker(
            validate_body(body, MAX_BODY) if body is not None else master.body, master.id
        )
    row = await store.insert_template(
        conn,
        principal.account.id,
        {
            "user_id": principal.user.id,
            "name": checked_name,
            "body": html,
            "created_at": now(),
        },
    )
    return template_from_row(row)


async def update_template(
    conn: AsyncConnection,
    principal: Principal,
    template_id: int,
    *,
    name: str | None,
    body: str | None,
) -> EmailTemplate:
    """Change the fields given; a field that is given must not be empty."""
    require(principal, PERMISSION)
    changes: dict[str, Any] = {}
    if name is not None:
        changes["name"] = validate_name(name)
    if body is not None:
        changes["body"] = validate_body(body, MAX_BODY)
    if not changes:
        raise InvalidInput("Give template_name, body or both.", field="body")
    row = await store.update_template(conn, principal.account.id, template_id, changes)
    if row is None:
        raise NotFound(f"Email template #{template_id} not found.")
    return template_from_row(row)


async def delete_template(conn: AsyncConnection, principal: Principal, template_id: int) -> None:
    require(principal, PERMISSION)
    if not await store.delete_template(conn, principal.account.id, template_id):
        raise NotFound(f"Email template #{template_id} not found.")
