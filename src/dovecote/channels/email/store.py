"""Email storage: sender addresses (read), suppressions, built content, activity index,
and the reads behind email history.

Email rows live in `messages` like every channel (one row per recipient); what only
email has sits beside them, keyed by message id: `message_payloads`, `message_content`,
and `email_activity` (with its categories and custom args) for Email Activity.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from dovecote.core.errors import InvalidInput
from dovecote.pipeline import status as st
from dovecote.pipeline.transports.email_sandbox import MX_SERVER as SANDBOX_MX

# `_condition` is listing's own filter builder: the export applies `q` exactly as pages do.
from dovecote.storage.listing import Fields, ListQuery, Page, _condition, paginate
from dovecote.storage.tables import (
    SYSTEM_SOURCE,
    email_activity,
    email_activity_args,
    email_activity_categories,
    email_addresses,
    events,
    message_content,
    message_payloads,
    messages,
    suppressions,
    users,
)

CHANNEL = "email"
# Bounce types Email Activity reports as `bounce_type: "soft"` (activity/search.py):
# "blocked" is what a deferred message's final bounce carries once it is out of retries.
SOFT_BOUNCE_TYPES = ("blocked", "soft")

_CHUNK = 500  # bounded IN lists: SQLite caps bound parameters


def _chunks(values: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


def _insert(conn: AsyncConnection, table: sa.Table) -> Any:
    """INSERT that can `on_conflict_do_nothing()` on both backends."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


# --- sender addresses -----------------------------------------------------------------


async def get_email_address(conn: AsyncConnection, address_id: int) -> Mapping[str, Any] | None:
    query = sa.select(email_addresses).where(email_addresses.c.id == address_id)
    row = (await conn.execute(query)).mappings().one_or_none()
    return None if row is None else dict(row)


# --- suppressions -----------------------------------------------------------------------


async def suppressed(
    conn: AsyncConnection, account_id: int, emails: Iterable[str]
) -> dict[str, str]:
    """Lower-cased address → reason, for the given addresses that are suppressed."""
    wanted = sorted({email.lower() for email in emails})
    found: dict[str, str] = {}
    for chunk in _chunks(wanted):
        query = sa.select(suppressions.c.email, suppressions.c.reason).where(
            suppressions.c.account_id == account_id, suppressions.c.email.in_(chunk)
        )
        found.update((email, reason) for email, reason in await conn.execute(query))
    return found


async def add_suppressions(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> None:
    """Rows of (account_id, email, reason, created_at); an existing entry keeps its reason."""
    if rows:
        await conn.execute(_insert(conn, suppressions).on_conflict_do_nothing(), list(rows))


async def suppress_recipients(
    conn: AsyncConnection, message_ids: Sequence[str], reason: str, now: int
) -> None:
    """Suppress the recipients of these emails (a hard bounce) in one INSERT … SELECT."""
    for chunk in _chunks(sorted(set(message_ids))):
        source = sa.select(
            messages.c.account_id,
            sa.func.lower(messages.c.recipient),
            sa.literal(reason),
            sa.literal(now),
        ).where(messages.c.id.in_(chunk), messages.c.channel == CHANNEL)
        statement = (
            _insert(conn, suppressions)
            .from_select(["account_id", "email", "reason", "created_at"], source)
            .on_conflict_do_nothing()
        )
        await conn.execute(statement)


async def remove_suppression(conn: AsyncConnection, account_id: int, email: str) -> int:
    query = suppressions.delete().where(
        suppressions.c.account_id == account_id, suppressions.c.email == email.lower()
    )
    return int((await conn.execute(query)).rowcount)


# --- queued email ---------------------------------------------------------------------


async def insert_messages(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> None:
    """Rows that never enter the queue (dropped recipients)."""
    if rows:
        await conn.execute(messages.insert(), list(rows))


async def insert_payloads(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        await conn.execute(message_payloads.insert(), list(rows))


async def insert_contents(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        await conn.execute(message_content.insert(), list(rows))


async def email_owner(conn: AsyncConnection, message_id: str) -> tuple[int, int] | None:
    query = sa.select(messages.c.account_id, messages.c.user_id).where(
        messages.c.id == message_id,
        messages.c.channel == CHANNEL,
        messages.c.direction == "out",
    )
    row = (await conn.execute(query)).first()
    return None if row is None else (int(row[0]), int(row[1]))


def delivered_for_real(message_id: sa.ColumnElement[str]) -> sa.Exists:
    """Whether an email event of the message names a mail server other than the sandbox's:
    the message was handed to a real transport (SMTP's events carry its relay as
    `mx_server`, the email sandbox's carry `SANDBOX_MX`)."""
    server = events.c.data["mx_server"].as_string()
    return sa.exists().where(
        events.c.message_id == message_id,
        events.c.channel == CHANNEL,
        server.is_not(None),
        server != SANDBOX_MX,
    )


async def captured_content(conn: AsyncConnection, message_id: str) -> bytes | None:
    """The stored MIME of a message no real transport was handed (None otherwise)."""
    query = sa.select(message_content.c.content).where(
        message_content.c.message_id == message_id,
        ~delivered_for_real(sa.literal(message_id)),
    )
    value = (await conn.execute(query)).scalar_one_or_none()
    return None if value is None else bytes(value)


# Search and order fields of the sandbox's list of captured mail.
CAPTURED_FIELDS = Fields(
    columns={
        "message_id": messages.c.id,
        "to": messages.c.recipient,
        "from": messages.c.sender,
        "subject": messages.c.subject,
        "status": messages.c.status,
        "user_id": messages.c.user_id,
        "subaccount_id": messages.c.user_id,
        "date_added": messages.c.created_at,
    },
    text=frozenset({"to", "from", "subject"}),
)


async def list_captured(
    conn: AsyncConnection,
    account_id: int,
    user_id: int | None,
    params: ListQuery,
    *,
    to: str | None = None,
) -> Page:
    """A page of outbound emails (one per recipient) whose MIME is stored and that no
    real transport was handed, system mail included; newest first unless `params`
    orders otherwise. `to` keeps one recipient (any case)."""
    query = (
        sa.select(
            messages.c.id,
            messages.c.user_id,
            messages.c.sender,
            messages.c.recipient,
            messages.c.subject,
            messages.c.status,
            messages.c.source,
            messages.c.created_at,
        )
        .select_from(messages.join(message_content, message_content.c.message_id == messages.c.id))
        .where(
            messages.c.account_id == account_id,
            messages.c.channel == CHANNEL,
            messages.c.direction == "out",
            ~delivered_for_real(messages.c.id),
        )
    )
    if user_id is not None:
        query = query.where(messages.c.user_id == user_id)
    if to is not None:
        query = query.where(sa.func.lower(messages.c.recipient) == to.strip().lower())
    newest_first = [messages.c.created_at.desc(), messages.c.id.desc()]
    return await paginate(conn, query, params, CAPTURED_FIELDS, newest_first)


# --- activity index -------------------------------------------------------------------


async def insert_activity(
    conn: AsyncConnection,
    rows: Sequence[dict[str, Any]],
    categories: Sequence[dict[str, Any]],
    args: Sequence[dict[str, Any]],
) -> None:
    # Idempotent: a replayed `processed` event must not fail the whole batch.
    if rows:
        await conn.execute(_insert(conn, email_activity).on_conflict_do_nothing(), list(rows))
    if categories:
        statement = _insert(conn, email_activity_categories).on_conflict_do_nothing()
        await conn.execute(statement, list(categories))
    if args:
        await conn.execute(_insert(conn, email_activity_args).on_conflict_do_nothing(), list(args))


_later = sa.case(
    (email_activity.c.last_event_time < sa.bindparam("t"), sa.bindparam("t")),
    else_=email_activity.c.last_event_time,
)


async def set_activity_status(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> None:
    """`{"_id", "status", "t"}` rows; `status` None only moves `last_event_time`."""
    if not rows:
        return  # every batch of events comes through here, email or not
    with_status = [row for row in rows if row["status"] is not None]
    without = [row for row in rows if row["status"] is None]
    where = email_activity.c.message_id == sa.bindparam("_id")
    if with_status:
        statement = (
            email_activity.update()
            .where(where)
            .values(status=sa.bindparam("status"), last_event_time=_later)
        )
        await conn.execute(statement, with_status)
    if without:
        statement = email_activity.update().where(where).values(last_event_time=_later)
        await conn.execute(statement, [{"_id": r["_id"], "t": r["t"]} for r in without])


async def count_engagement(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> None:
    """`{"_id", "opens", "clicks", "t"}` rows: add to the counters (one row per message)."""
    if rows:
        statement = (
            email_activity.update()
            .where(email_activity.c.message_id == sa.bindparam("_id"))
            .values(
                opens_count=email_activity.c.opens_count + sa.bindparam("opens"),
                clicks_count=email_activity.c.clicks_count + sa.bindparam("clicks"),
                last_event_time=_later,
            )
        )
        await conn.execute(statement, list(rows))


# --- history --------------------------------------------------------------------------

# Search on the status word ClickSend shows (`q=status:Delivered`), not the queue's.
_wire_status = sa.case(st.HISTORY_STATUS, value=messages.c.status, else_=messages.c.status)

HISTORY_FIELDS = Fields(
    columns={
        "message_id": messages.c.id,
        "to": messages.c.recipient,
        "from": messages.c.sender,
        "subject": messages.c.subject,
        "body": messages.c.body,
        "status": _wire_status,
        "custom_string": messages.c.custom_string,
        "user_id": messages.c.user_id,
        "subaccount_id": messages.c.user_id,
        "username": users.c.username,
        "date_added": messages.c.created_at,
        "schedule": messages.c.schedule,
    },
    text=frozenset({"to", "from", "subject", "body", "custom_string", "username"}),
)
HISTORY_ORDER = (messages.c.created_at, messages.c.id)


def history_select(
    account_id: int, user_id: int | None, date_from: int | None, date_to: int | None
) -> sa.Select[Any]:
    """One row per email: its first recipient's row stands for the group. The
    platform's own mail (`source = "system"`) is not the customer's and is left out."""
    query = (
        sa.select(messages, users.c.username.label("username"), message_payloads.c.payload)
        .select_from(
            messages.outerjoin(users, users.c.id == messages.c.user_id).outerjoin(
                message_payloads, message_payloads.c.message_id == messages.c.id
            )
        )
        .where(
            messages.c.account_id == account_id,
            messages.c.channel == CHANNEL,
            messages.c.direction == "out",
            messages.c.group_id.is_(None),
            messages.c.source.is_distinct_from(SYSTEM_SOURCE),
        )
    )
    if user_id is not None:
        query = query.where(messages.c.user_id == user_id)
    if date_from is not None:
        query = query.where(messages.c.created_at >= date_from)
    if date_to is not None:
        query = query.where(messages.c.created_at <= date_to)
    return query


async def list_history(
    conn: AsyncConnection,
    account_id: int,
    user_id: int | None,
    params: ListQuery,
    date_from: int | None,
    date_to: int | None,
) -> Page:
    query = history_select(account_id, user_id, date_from, date_to)
    return await paginate(conn, query, params, HISTORY_FIELDS, list(HISTORY_ORDER))


async def group_totals(conn: AsyncConnection, ids: Sequence[str]) -> dict[str, dict[str, int]]:
    """Per email (first row id): price, hard bounces and soft bounces.

    Classified as Email Activity does, from the final bounce's `bounce_type`: a message
    that failed after its last retry was deferred is FAILED with a "blocked" bounce, a
    soft bounce, like an expired one and one waiting on a retry; other failures are hard.
    """
    key = sa.func.coalesce(messages.c.group_id, messages.c.id).label("key")
    soft_final = sa.exists().where(
        events.c.message_id == messages.c.id,
        events.c.type == "bounce",
        events.c.data["bounce_type"].as_string().in_(SOFT_BOUNCE_TYPES),
    )
    soft = sa.or_(
        messages.c.status == st.EXPIRED,
        sa.and_(messages.c.status == st.FAILED, soft_final),
        sa.and_(messages.c.status == st.QUEUED, messages.c.attempts > 0),
    )
    hard = sa.and_(messages.c.status == st.FAILED, sa.not_(soft_final))
    totals: dict[str, dict[str, int]] = {}
    for chunk in _chunks(list(ids)):
        query = (
            sa.select(
                key,
                sa.func.sum(messages.c.price_micros),
                sa.func.sum(sa.case((hard, 1), else_=0)),
                sa.func.sum(sa.case((soft, 1), else_=0)),
            )
            .where(sa.or_(messages.c.id.in_(chunk), messages.c.group_id.in_(chunk)))
            .group_by(key)
        )
        for group, price, hard, soft in await conn.execute(query):
            totals[group] = {
                "price": int(price or 0),
                "hard": int(hard or 0),
                "soft": int(soft or 0),
            }
    return totals


def check_history_query(params: ListQuery) -> None:
    """Refuse unknown `q` or `order_by` fields now, before an export link is handed out."""
    for name, value in params.filters:
        _condition(HISTORY_FIELDS, name, value)
    for name, _ in params.order:
        if name not in HISTORY_FIELDS.columns:
            raise InvalidInput(f"Order field '{name}' is not supported.", field="order_by")


async def stream_history(
    engine: AsyncEngine,
    account_id: int,
    user_id: int | None,
    params: ListQuery,
    date_from: int | None,
    date_to: int | None,
    *,
    chunk: int = 500,
) -> AsyncIterator[list[dict[str, Any]]]:
    """Every matching email, oldest first, `chunk` rows at a time, each chunk read in its
    own short connection (keyset on created_at, id): on SQLite the engine has a single
    connection, and an export holding it for minutes would stall every request."""
    query = history_select(account_id, user_id, date_from, date_to)
    if params.filters:
        conditions = [_condition(HISTORY_FIELDS, name, value) for name, value in params.filters]
        query = query.where(
            sa.or_(*conditions) if params.operator == "OR" else sa.and_(*conditions)
        )
    query = query.order_by(messages.c.created_at, messages.c.id).limit(chunk)
    last: tuple[int, str] | None = None
    while True:
        page = query
        if last is not None:
            page = query.where(
                sa.or_(
                    messages.c.created_at > last[0],
                    sa.and_(messages.c.created_at == last[0], messages.c.id > last[1]),
                )
            )
        async with engine.connect() as conn:
            rows = [dict(row) for row in (await conn.execute(page)).mappings()]
        if rows:
            yield rows
        if len(rows) < chunk:
            return
        last = (int(rows[-1]["created_at"]), str(rows[-1]["id"]))
