"""`/v3/voice/history` and its CSV export (a signed link that needs no credentials)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter

from dovecote.apis.clicksend.history_routes import history_routes
from dovecote.channels.voice import history
from dovecote.core.money import from_micros
from dovecote.pipeline.status import HISTORY_STATUS

router = APIRouter(tags=["Voice"])

EXPORT_COLUMNS = (
    "message_id",
    "date_added",
    "to",
    "body",
    "lang",
    "voice",
    "status",
    "status_code",
    "status_text",
    "error_code",
    "error_text",
    "message_parts",
    "message_price",
    "schedule",
    "custom_string",
    "require_input",
    "machine_detection",
    "country",
    "subaccount_id",
    "api_username",
)


def entry(row: Mapping[str, Any]) -> dict[str, Any]:
    """One call; types follow SDK 6's VoiceMessage."""
    payload: Mapping[str, Any] = row.get("payload") or {}
    return {
        "date": str(row["created_at"]),
        "date_added": int(row["created_at"]),
        "to": row["recipient"],
        "body": row["body"],
        "from": row["sender"] or None,
        "lang": payload.get("lang"),
        "voice": payload.get("voice"),
        "schedule": row["schedule"] or 0,
        "message_id": row["id"],
        "message_parts": int(row["parts"]),
        "message_price": f"{from_micros(int(row['price_micros'])):.4f}",
        "custom_string": row["custom_string"],
        "list_id": str(row["list_id"]) if row["list_id"] is not None else None,
        "user_id": int(row["user_id"]),
        "subaccount_id": int(row["user_id"]),
        "country": row["country"],
        "require_input": int(bool(payload.get("require_input"))),
        "machine_detection": int(bool(payload.get("machine_detection"))),
        "carrier": "",
        "status": HISTORY_STATUS.get(row["status"], str(row["status"]).capitalize()),
        "status_code": row["status_code"],
        "status_text": row["status_text"],
        "error_code": row["error_code"],
        "error_text": row["error_text"],
        "api_username": row["username"],
    }


history_routes(
    router,
    channel="voice",
    label="voice",
    permission="access_voice",
    history=history.HISTORY,
    entry=entry,
    columns=EXPORT_COLUMNS,
)
