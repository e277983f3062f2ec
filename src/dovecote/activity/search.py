"""Email Activity: search a caller's email messages with the query language, and read one.

What a caller sees: their account's messages (a subaccount: only its own) whose last
event is inside the account's history window, with only the events inside that window.
Another account's message is indistinguishable from one that does not exist.
"""

from __future__ import annotations

import ipaddress
import time
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from dovecote.activity import query as ql
from dovecote.activity import retention, store
from dovecote.activity.key_ids import public_key_id
from dovecote.core.errors import InvalidInput, NotFound
from dovecote.core.models import Principal
from dovecote.settings import Settings

DEFAULT_LIMIT = 10
MAX_LIMIT = 1000
# Event details the API reports, when the event log has them.
EVENT_DETAILS = ("reason", "attempt_num", "url", "bounce_type", "http_user_agent", "mx_server")
# The Event Webhook's bounce `type` → Email Activity's `bounce_type` (soft | hard).
_BOUNCE_TYPES = {"bounce": "hard", "blocked": "soft", "hard": "hard", "soft": "soft"}
# The address a message left from when nothing more is known: this host. The sandbox
# delivers here, and Dovecote's own mail (export links) originates here.
THIS_HOST = "127.0.0.1"
OUTBOUND_IP_TYPES = ("dedicated", "shared")
MAX_ATTEMPT_NUM = 10
MAX_REASON = 1024


@dataclass(frozen=True, slots=True)
class MessageSummary:
    msg_id: str
    from_email: str
    subject: str
    to_email: str
    status: str
    opens_count: int
    clicks_count: int
    last_event_time: float


@dataclass(frozen=True, slots=True)
class ActivityEvent:
    name: str  # the API's event_name: bounced, opened, clicked, ...
    occurred_at: float
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class MessageDetail:
    """One message as the API shows it. `asm_group_id` and `api_key_id` are None when the
    message has none (SendGrid's types leave no value for "none"); the addresses and the
    IP type always have one (see `detail`)."""

    summary: MessageSummary
    template_id: str | None
    asm_group_id: int | None
    teammate: str | None
    api_key_id: str | None
    originating_ip: str
    outbound_ip: str
    outbound_ip_type: str
    categories: list[str]
    unique_args: dict[str, Any]
    events: list[ActivityEvent]


def parse_limit(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_LIMIT
    # `limit=` is no number either: SendGrid's 1 to 1000, or left out for the default.
    try:
        number = float(raw)
    except ValueError:
        number = 0.0
    if not number.is_integer() or not 1 <= number <= MAX_LIMIT:
        raise InvalidInput(f"limit must be a whole number from 1 to {MAX_LIMIT}", field="limit")
    return int(number)


def window(principal: Principal, settings: Settings, now: float | None = None) -> store.Window:
    moment = time.time() if now is None else now
    return store.Window(
        account_id=principal.account.id,
        # Subaccounts see only the mail they sent; the main user sees the whole account.
        user_id=None if principal.user.is_main else principal.user.id,
        since=retention.window_start(principal.account.settings, settings, moment),
    )


def compile_query(query: str | None, scope: store.Window) -> sa.ColumnElement[bool] | None:
    """The query as a SQL condition, or None for "everything" (no or a blank query)."""
    if query is None or not query.strip():
        return None
    return ql.compile_filter(ql.parse(query), ql.Context(events_since=scope.since))


async def search(
    conn: AsyncConnection,
    principal: Principal,
    settings: Settings,
    *,
    query: str | None,
    limit: int = DEFAULT_LIMIT,
    now: float | None = None,
) -> list[MessageSummary]:
    """Messages matching `query`, newest last event first; raises `QueryError` (400)."""
    scope = window(principal, settings, now)
    rows = await store.search(conn, scope, compile_query(query, scope), limit)
    return [summary(row) for row in rows]


async def get_message(
    conn: AsyncConnection,
    principal: Principal,
    settings: Settings,
    msg_id: str,
    *,
    now: float | None = None,
) -> MessageDetail:
    scope = window(principal, settings, now)
    row = await store.get(conn, scope, msg_id)
    if row is None:
        raise NotFound("not found", field="message_id")
    event_rows = await store.message_events(conn, scope, [msg_id])
    return detail(row, [activity_event(e) for e in event_rows])


def summary(row: RowMapping) -> MessageSummary:
    return MessageSummary(
        msg_id=row["message_id"],
        from_email=row["from_email"],
        subject=row["subject"],
        to_email=row["to_email"],
        status=row["status"],
        opens_count=row["opens_count"],
        clicks_count=row["clicks_count"],
        last_event_time=row["last_event_time"],
    )


def detail(row: RowMapping, events: list[ActivityEvent]) -> MessageDetail:
    group = row["asm_group_id"]
    ip_type = row["outbound_ip_type"]
    return MessageDetail(
        summary=summary(row),
        template_id=row["template_id"],
        asm_group_id=group if group is not None and group >= 1 else None,
        teammate=row["teammate"],
        api_key_id=public_key_id(row["api_key_id"]),  # rows written before the sink did it
        originating_ip=row["originating_ip"] or THIS_HOST,
        outbound_ip=ipv4(row["outbound_ip"]) or relay_ipv4(events) or THIS_HOST,
        outbound_ip_type=ip_type if ip_type in OUTBOUND_IP_TYPES else "shared",
        categories=[str(c) for c in row["categories"] or ()],
        unique_args=dict(row["unique_args"] or {}),
        events=events,
    )


def ipv4(value: str | None) -> str | None:
    """`value` as an IPv4 address (an IPv4-mapped IPv6 one too), or None."""
    try:
        address = ipaddress.ip_address((value or "").strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address):
        return str(address.ipv4_mapped) if address.ipv4_mapped else None
    return str(address)


def relay_ipv4(events: list[ActivityEvent]) -> str | None:
    """The relay the message was last handed to, when the transport named it by an IPv4
    address (`mx_server` is `host:port` for the SMTP transport)."""
    for event in reversed(events):
        server = str(event.details.get("mx_server", ""))
        host = server.rpartition(":")[0] if server.count(":") == 1 else server
        if found := ipv4(host):
            return found
    return None


def activity_event(row: RowMapping) -> ActivityEvent:
    data: dict[str, Any] = row["data"] or {}
    # str(): the log is JSON written by transports; a number where text belongs must not
    # turn into a 500 when the response is built.
    details: dict[str, Any] = {
        key: str(data[key]) for key in EVENT_DETAILS if data.get(key) not in (None, "")
    }
    if "attempt_num" in details:
        try:
            details["attempt_num"] = int(float(details["attempt_num"]))
        except (ValueError, OverflowError):
            del details["attempt_num"]
        else:
            # SendGrid counts attempts "out of 10" (1 to 10); a later one is no such count.
            if not 1 <= details["attempt_num"] <= MAX_ATTEMPT_NUM:
                del details["attempt_num"]
    if "reason" in details:
        details["reason"] = details["reason"][:MAX_REASON]  # SendGrid's 1024 at most
    if "bounce_type" in details:
        bounce_type = _BOUNCE_TYPES.get(str(details["bounce_type"]).lower())
        if bounce_type is None:
            del details["bounce_type"]
        else:
            details["bounce_type"] = bounce_type
    return ActivityEvent(
        name=ql.EVENT_NAMES[row["type"]], occurred_at=row["occurred_at"], details=details
    )
