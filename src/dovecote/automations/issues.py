"""Delivery issues (`/v3/delivery-issues`): a customer's report that a message went wrong.

Stored for the operator to follow up; a user lists the reports it may see (its own, or
the account's with `access_reporting`, as with message history).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from dovecote.core.errors import InvalidInput
from dovecote.core.models import Principal
from dovecote.pipeline.scope import scope_for, visible
from dovecote.storage.listing import Fields, ListQuery, Page, paginate
from dovecote.storage.tables import delivery_issues as issues

TYPES = ("SMS", "MMS", "VOICE", "EMAIL_MARKETING", "EMAIL_TRANSACTIONAL", "FAX", "POST")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
ISSUE_FIELDS = Fields(
    columns={
        "issue_id": issues.c.id,
        "message_id": issues.c.message_id,
        "type": issues.c.type,
        "resolved": issues.c.resolved,
    },
    text=frozenset({"message_id"}),
)


@dataclass(frozen=True, slots=True)
class IssueFields:
    message_id: str | None = None
    type: str | None = None
    description: str | None = None
    email_address: str | None = None
    client_comments: str | None = None


def _text(value: str | None, name: str, limit: int) -> str:
    text = (value or "").strip()
    if not text:
        raise InvalidInput(f"{name} is required.", field=name)
    if len(text) > limit:
        raise InvalidInput(f"{name} must be at most {limit} characters.", field=name)
    return text


async def create_issue(
    conn: AsyncConnection, principal: Principal, fields: IssueFields
) -> sa.RowMapping:
    kind = _text(fields.type, "type", 32).upper()
    if kind not in TYPES:
        raise InvalidInput(f"type must be one of {', '.join(TYPES)}.", field="type")
    email = _text(fields.email_address, "email_address", 320)
    if not _EMAIL.fullmatch(email):
        raise InvalidInput("email_address is not a valid email address.", field="email_address")
    comments = (fields.client_comments or "").strip() or None
    if comments is not None and len(comments) > 10_000:
        raise InvalidInput(
            "client_comments must be at most 10000 characters.", field="client_comments"
        )
    values = {
        "account_id": principal.account.id,
        "user_id": principal.user.id,
        "message_id": _text(fields.message_id, "message_id", 64),
        "type": kind,
        "description": _text(fields.description, "description", 10_000),
        "email_address": email,
        "client_comments": comments,
        "created_at": int(time.time()),
    }
    row: sa.RowMapping = (
        (await conn.execute(issues.insert().values(**values).returning(issues))).mappings().one()
    )
    return row


async def list_issues(conn: AsyncConnection, principal: Principal, params: ListQuery) -> Page:
    query = sa.select(issues).where(*visible(issues, scope_for(principal)))
    return await paginate(conn, query, params, ISSUE_FIELDS, [issues.c.id])
