"""Alpha tags: alphanumeric sender ids ("Dovecote", "ACME-Bank") an account asks for.

ClickSend reviews each request; Dovecote approves at once unless the operator turned
that off (`DOVECOTE_ALPHA_TAGS_AUTO_APPROVE=false`), in which case requests wait as
PENDING until `dovecote numbers alpha-tag ID approved|rejected`. Only approved tags pass
the sender check.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from dovecote.core.errors import InvalidInput, NotFound
from dovecote.core.ids import new_id
from dovecote.core.models import Principal
from dovecote.numbers import senders_store as store
from dovecote.numbers.inventory import normalize_country
from dovecote.storage.tables import alpha_tags

PENDING: Final = "PENDING"
APPROVED: Final = "APPROVED"
REJECTED: Final = "REJECTED"
STATUSES: Final = frozenset({PENDING, APPROVED, REJECTED})
# ClickSend's INVALID_SENDER_ID rule for alphanumeric ids: at most 11 characters, letters
# and digits (no spaces), at least one letter — all-digit ids are numbers.
_ALPHA_TAG = re.compile(r"[A-Za-z0-9]{1,11}")


@dataclass(frozen=True, slots=True)
class AlphaTag:
    id: str
    account_id: int
    user_id: int
    alpha_tag: str
    status: str
    reason: str
    countries: tuple[str, ...]
    created_at: int
    updated_at: int


def tag_from_row(row: Mapping[Any, Any]) -> AlphaTag:
    return AlphaTag(
        id=row["id"],
        account_id=int(row["account_id"]),
        user_id=int(row["user_id"]),
        alpha_tag=row["alpha_tag"],
        status=row["status"],
        reason=row["reason"],
        countries=tuple(row["countries"] or ()),
        created_at=int(row["created_at"]),
        updated_at=int(row["updated_at"]),
    )


def valid_alpha_tag(value: str) -> bool:
    return bool(_ALPHA_TAG.fullmatch(value)) and any(c.isalpha() for c in value)


async def request_tag(
    conn: AsyncConnection,
    principal: Principal,
    alpha_tag: str | None,
    reason: str | None,
    countries: Sequence[str] | None,
    *,
    auto_approve: bool,
) -> AlphaTag:
    tag = (alpha_tag or "").strip()
    if not valid_alpha_tag(tag):
        raise InvalidInput(
            "alpha_tag must be 1 to 11 letters and digits, no spaces, with at least one letter.",
            code="INVALID_SENDER_ID",
            field="alpha_tag",
        )
    if not countries:
        raise InvalidInput("countries must list at least one country.", field="countries")
    codes = sorted({normalize_country(code, "countries") for code in countries})
    now = int(time.time())
    values = {
        "id": new_id().lower(),
        "account_id": principal.account.id,
        "user_id": principal.user.id,
        "alpha_tag": tag,
        "status": APPROVED if auto_approve else PENDING,
        "reason": (reason or "").strip()[:500],
        "countries": codes,
        "created_at": now,
        "updated_at": now,
    }
    try:
        async with conn.begin_nested():  # a savepoint: the duplicate must not end the request
            row = await store.insert(conn, alpha_tags, values)
    except IntegrityError:
        raise InvalidInput(f"{tag} has already been requested.", field="alpha_tag") from None
    return tag_from_row(row)


async def list_tags(
    conn: AsyncConnection, principal: Principal, *, descending: bool, limit: int
) -> list[AlphaTag]:
    rows = await store.listing(
        conn, alpha_tags, principal.account.id, descending=descending, limit=limit
    )
    return [tag_from_row(row) for row in rows]


async def get_tag(conn: AsyncConnection, principal: Principal, tag_id: str) -> AlphaTag:
    row = await store.get(conn, alpha_tags, principal.account.id, tag_id)
    if row is None:
        raise NotFound(f"Alpha tag {tag_id} not found.")
    return tag_from_row(row)


async def delete_tag(conn: AsyncConnection, principal: Principal, tag_id: str) -> AlphaTag:
    item = await get_tag(conn, principal, tag_id)
    await store.delete(conn, alpha_tags, principal.account.id, tag_id)
    return item


async def review(conn: AsyncConnection, tag_id: str, status: str) -> AlphaTag:
    """The operator's decision on a requested tag."""
    decision = status.strip().upper()
    if decision not in STATUSES:
        raise InvalidInput("status must be approved, rejected or pending.", field="status")
    query = (
        alpha_tags.update()
        .where(alpha_tags.c.id == tag_id)
        .values(status=decision, updated_at=int(time.time()))
        .returning(alpha_tags)
    )
    row = (await conn.execute(query)).mappings().one_or_none()
    if row is None:
        raise NotFound(f"Alpha tag {tag_id} not found.")
    return tag_from_row(row)
