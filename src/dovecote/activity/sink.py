"""The event sink behind Email Activity: one `email_activity` row per email message.

    processed                       insert the row (+ categories, custom args): processed
    delivered                       → delivered
    bounce, dropped                 → not_delivered; a hard bounce (bounce_type "bounce")
                                      also suppresses the address for the account
    open, click                     opens_count / clicks_count + 1
    unsubscribe, spamreport, …      suppress the address
    anything else (deferred, …)     only last_event_time moves

Runs in the transaction that appends the events, with a handful of executemany
statements per batch whatever its size — never a query per event.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from dovecote.activity.key_ids import public_key_id
from dovecote.channels.email import store, suppressions
from dovecote.pipeline.events import Event

CHANNEL = "email"
_STATUS = {"delivered": "delivered", "bounce": "not_delivered", "dropped": "not_delivered"}
_SUPPRESSING = {
    "unsubscribe": suppressions.UNSUBSCRIBE,
    "group_unsubscribe": suppressions.UNSUBSCRIBE,
    "spamreport": suppressions.SPAM_REPORT,
}


async def email_activity_sink(conn: AsyncConnection, rows: Sequence[Event]) -> None:
    created: list[dict[str, Any]] = []
    categories: list[dict[str, Any]] = []
    args: list[dict[str, Any]] = []
    statuses: list[dict[str, Any]] = []
    engagement: dict[str, dict[str, Any]] = {}
    suppress: dict[str, list[str]] = {}
    latest = 0.0
    for row in rows:
        if row.channel != CHANNEL:
            continue
        kind, message_id, at = row.type, row.message_id, float(row.occurred_at)
        data: dict[str, Any] = row.data or {}
        latest = max(latest, at)
        if kind == "processed":
            created.append(_activity(row, data))
            categories.extend(
                {
                    "message_id": message_id,
                    "category": str(c)[:255],
                    "account_id": row.account_id,
                }
                for c in dict.fromkeys(data.get("categories") or ())
            )
            args.extend(
                {
                    "message_id": message_id,
                    "key": str(key)[:255],
                    "value": str(value),
                    "account_id": row.account_id,
                }
                for key, value in (data.get("unique_args") or {}).items()
            )
        elif kind in ("open", "click"):
            counts = engagement.setdefault(
                message_id, {"_id": message_id, "opens": 0, "clicks": 0, "t": at}
            )
            counts["opens" if kind == "open" else "clicks"] += 1
            counts["t"] = max(counts["t"], at)
        else:
            statuses.append({"_id": message_id, "status": _STATUS.get(kind), "t": at})
            if kind == "bounce" and data.get("bounce_type") == "bounce":
                suppress.setdefault(suppressions.BOUNCE, []).append(message_id)
            elif kind in _SUPPRESSING:
                suppress.setdefault(_SUPPRESSING[kind], []).append(message_id)
    await store.insert_activity(conn, created, categories, args)
    await store.set_activity_status(conn, statuses)
    await store.count_engagement(conn, list(engagement.values()))
    for reason, message_ids in suppress.items():
        await store.suppress_recipients(conn, message_ids, reason, int(latest))


def _activity(row: Event, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "message_id": row.message_id,
        "account_id": row.account_id,
        "user_id": row.user_id,
        "from_email": data.get("from_email") or "",
        "to_email": data.get("to_email") or "",
        "subject": data.get("subject") or "",
        "status": "processed",
        "template_id": data.get("template_id"),
        "asm_group_id": data.get("asm_group_id"),
        # The public id: what the API shows is what a query on api_key_id compares.
        "api_key_id": public_key_id(data.get("api_key_id")),
        "originating_ip": data.get("originating_ip"),
        "categories": list(dict.fromkeys(data.get("categories") or ())),
        "unique_args": dict(data.get("unique_args") or {}),
        "last_event_time": float(row.occurred_at),
        "created_at": float(row.occurred_at),
    }
