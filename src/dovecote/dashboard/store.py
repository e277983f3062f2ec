"""The dashboard's reads: every channel's messages in one list, one message whole, the
sandbox phone's threads. Bounded by the caller's `Scope` like every history query.

Lists are keyset-paginated on (created_at, id) — `ix_messages_account_created_id`
answers them without a sort and without OFFSET, so the thousandth page costs what the
first does.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from dovecote.pipeline.scope import Scope, visible
from dovecote.storage.tables import SYSTEM_SOURCE, events, message_media, message_payloads, messages

PAGE_SIZE = 50
# How many of the newest SMS the phone gathers its conversations from: the list is one
# index range, not a GROUP BY over a million rows.
THREAD_SOURCE = 5000
THREADS = 100
THREAD_LENGTH = 200

LIST_COLUMNS = (
    messages.c.id,
    messages.c.user_id,
    messages.c.channel,
    messages.c.direction,
    messages.c.sender,
    messages.c.recipient,
    messages.c.subject,
    messages.c.body,
    messages.c.status,
    messages.c.price_micros,
    messages.c.currency,
    messages.c.created_at,
    messages.c.updated_at,
)


_ADDRESS = re.compile(r"\+?[0-9]{5,16}|[^\s@]+@[^\s@]+")
_ID = re.compile(r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}")


@dataclass(frozen=True, slots=True)
class Filter:
    channel: str | None = None
    status: str | None = None
    direction: str | None = None
    q: str | None = None  # a recipient or sender (exact), or words of the subject/body


def encode_cursor(row: Mapping[Any, Any]) -> str:
    return base64.urlsafe_b64encode(f"{row['created_at']}:{row['id']}".encode()).decode()


def decode_cursor(cursor: str | None) -> tuple[int, str] | None:
    """None for no cursor or a damaged one (the first page, never an error page)."""
    if not cursor:
        return None
    try:
        created, _, message_id = base64.urlsafe_b64decode(cursor.encode()).decode().partition(":")
        return int(created), message_id
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None


def _search(term: str) -> sa.ColumnElement[bool]:
    """A number or an address finds its messages by index (outbound: the recipient,
    inbound: the sender); an id finds its message; anything else is words of the subject
    or body, a scan of the account's messages newest first that stops at a page of
    matches (fast for common words, slow for rare ones on a large account)."""
    if _ADDRESS.fullmatch(term):
        return sa.or_(
            messages.c.recipient == term,
            sa.and_(messages.c.direction == "in", messages.c.sender == term),
        )
    if _ID.fullmatch(term):
        return messages.c.id == term.upper()
    like = "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return sa.or_(
        messages.c.subject.ilike(like, escape="\\"), messages.c.body.ilike(like, escape="\\")
    )


def _listed(scope: Scope) -> list[sa.ColumnElement[bool]]:
    return [
        *visible(messages, scope),
        # One row per unit (an email to several recipients is one line), no system mail.
        messages.c.group_id.is_(None),
        sa.or_(messages.c.source.is_(None), messages.c.source != SYSTEM_SOURCE),
    ]


async def list_messages(
    conn: AsyncConnection,
    scope: Scope,
    found: Filter,
    after: str | None = None,
    ids: Sequence[str] | None = None,
) -> tuple[Sequence[RowMapping], str | None]:
    """A page newest first, and the cursor of the next page (None on the last); with
    `ids`, only those of them the filter keeps (a live update of a filtered list)."""
    query = sa.select(*LIST_COLUMNS).where(*_listed(scope))
    if ids is not None:
        query = query.where(messages.c.id.in_(ids))
    if found.channel:
        query = query.where(messages.c.channel == found.channel)
    if found.status:
        query = query.where(messages.c.status == found.status)
    if found.direction in ("in", "out"):
        # Written as "not the other one" (there are two): `direction = 'in'` would let
        # SQLite pick the partial inbound-sender index and sort every inbound row, where
        # walking the list's own index stops after a page.
        other = "out" if found.direction == "in" else "in"
        query = query.where(messages.c.direction != other)
    if found.q:
        query = query.where(_search(found.q.strip()))
    cursor = decode_cursor(after)
    if cursor is not None:
        created, message_id = cursor
        # A row value: one index range on both databases (an OR of the two halves is
        # not one on SQLite, and a deep page then walked every newer row).
        query = query.where(sa.tuple_(messages.c.created_at, messages.c.id) < (created, message_id))
    query = query.order_by(messages.c.created_at.desc(), messages.c.id.desc()).limit(PAGE_SIZE + 1)
    rows = (await conn.execute(query)).mappings().all()
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    return rows, encode_cursor(rows[-1]) if more and rows else None


@dataclass(frozen=True, slots=True)
class MessagePage:
    row: RowMapping
    events: Sequence[RowMapping]
    payload: Mapping[str, Any] | None
    media: Sequence[RowMapping]
    replies: Sequence[RowMapping]


async def get_message(conn: AsyncConnection, scope: Scope, message_id: str) -> MessagePage | None:
    row = (
        (
            await conn.execute(
                sa.select(messages).where(*visible(messages, scope), messages.c.id == message_id)
            )
        )
        .mappings()
        .first()
    )
    if row is None:
        return None
    timeline = (
        (
            await conn.execute(
                sa.select(events.c.type, events.c.occurred_at, events.c.data)
                .where(events.c.message_id == message_id, events.c.account_id == scope.account_id)
                .order_by(events.c.occurred_at, events.c.id)
            )
        )
        .mappings()
        .all()
    )
    payload = (
        await conn.execute(
            sa.select(message_payloads.c.payload).where(message_payloads.c.message_id == message_id)
        )
    ).scalar()
    media = (
        (
            await conn.execute(
                sa.select(message_media).where(message_media.c.message_id == message_id)
            )
        )
        .mappings()
        .all()
    )
    replies = (
        (
            await conn.execute(
                sa.select(*LIST_COLUMNS)
                .where(*visible(messages, scope), messages.c.original_message_id == message_id)
                .order_by(messages.c.created_at)
                .limit(THREAD_LENGTH)
            )
        )
        .mappings()
        .all()
    )
    return MessagePage(row, timeline, payload, media, replies)


# --- the sandbox phone -----------------------------------------------------------------

_SMS = messages.c.channel == "sms"
_COUNTERPART = sa.case(
    (messages.c.direction == "out", messages.c.recipient), else_=messages.c.sender
)


async def threads(conn: AsyncConnection, scope: Scope) -> Sequence[RowMapping]:
    """The handsets among the newest THREAD_SOURCE SMS, latest conversation first."""
    recent = (
        sa.select(_COUNTERPART.label("number"), messages.c.created_at.label("created_at"))
        .where(*visible(messages, scope), _SMS)
        .order_by(messages.c.created_at.desc())
        .limit(THREAD_SOURCE)
        .subquery()
    )
    query = (
        sa.select(
            recent.c.number,
            sa.func.max(recent.c.created_at).label("last_at"),
            sa.func.count().label("count"),
        )
        .group_by(recent.c.number)
        .order_by(sa.desc("last_at"))
        .limit(THREADS)
    )
    return (await conn.execute(query)).mappings().all()


async def thread(
    conn: AsyncConnection, scope: Scope, number: str, ids: Sequence[str] | None = None
) -> Sequence[RowMapping]:
    """One handset's conversation, oldest first (the latest THREAD_LENGTH messages);
    with `ids`, only those of them that belong to it (a live update)."""
    query = (
        sa.select(*LIST_COLUMNS, messages.c.status_text, messages.c.error_text)
        .where(
            *visible(messages, scope),
            _SMS,
            sa.or_(
                sa.and_(messages.c.direction == "out", messages.c.recipient == number),
                sa.and_(messages.c.direction == "in", messages.c.sender == number),
            ),
        )
        .order_by(messages.c.created_at.desc(), messages.c.id.desc())
        .limit(THREAD_LENGTH)
    )
    if ids is not None:
        query = query.where(messages.c.id.in_(ids))
    rows = (await conn.execute(query)).mappings().all()
    return list(reversed(rows))


async def latest_sender_to(conn: AsyncConnection, scope: Scope, number: str) -> str | None:
    """What the handset's last SMS came from: where its reply goes."""
    query = (
        sa.select(messages.c.sender)
        .where(
            *visible(messages, scope),
            _SMS,
            messages.c.direction == "out",
            messages.c.recipient == number,
        )
        .order_by(messages.c.created_at.desc(), messages.c.id.desc())
        .limit(1)
    )
    sender = (await conn.execute(query)).scalar()
    return str(sender) if sender else None
