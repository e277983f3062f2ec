"""Message templates: named bodies kept per account and channel, shared by its users."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from dovecote.channels.sms import templates_store as store
from dovecote.core.errors import InvalidInput, NotFound
from dovecote.core.models import Principal
from dovecote.core.templating import validate_body, validate_name
from dovecote.storage.listing import ListQuery, Page


@dataclass(frozen=True, slots=True)
class Template:
    id: int
    channel: str
    name: str
    body: str
    user_id: int
    created_at: int


def template_from_row(row: Mapping[Any, Any]) -> Template:
    return Template(
        id=int(row["id"]),
        channel=row["channel"],
        name=row["name"],
        body=row["body"],
        user_id=int(row["user_id"]),
        created_at=int(row["created_at"]),
    )


async def list_templates(
    conn: AsyncConnection, principal: Principal, channel: str, params: ListQuery
) -> Page:
    return await store.list_templates(conn, principal.account.id, channel, params)


async def get_template(
    conn: AsyncConnection, principal: Principal, channel: str, template_id: int
) -> Template:
    row = await store.get_template(conn, principal.account.id, channel, template_id)
    if row is None:
        raise NotFound(f"Template #{template_id} not found.")
    return template_from_row(row)


async def create_template(
    conn: AsyncConnection, principal: Principal, channel: str, name: str | None, body: str | None
) -> Template:
    row = await store.insert_template(
        conn,
        {
            "account_id": principal.account.id,
            "user_id": principal.user.id,
            "channel": channel,
            "name": validate_name(name),
            "body": validate_body(body),
            "created_at": int(time.time()),
        },
    )
    return template_from_row(row)


async def update_template(
    conn: AsyncConnection,
    principal: Principal,
    channel: str,
    template_id: int,
    name: str | None,
    body: str | None,
) -> Template:
    """Change the fields given; a field that is given must not be empty."""
    changes: dict[str, Any] = {}
    if name is not None:
        changes["name"] = validate_name(name)
    if body is not None:
        changes["body"] = validate_body(body)
    if not changes:
        raise InvalidInput("Give template_name, body or both.", field="template_name")
    row = await store.update_template(conn, principal.account.id, channel, template_id, changes)
    if row is None:
        raise NotFound(f"Template #{template_id} not found.")
    return template_from_row(row)


async def delete_template(
    conn: AsyncConnection, principal: Principal, channel: str, template_id: int
) -> None:
    if not await store.delete_template(conn, principal.account.id, channel, template_id):
        raise NotFound(f"Template #{template_id} not found.")
