"""`/v3/fax/history` and its CSV export (a signed link that needs no credentials)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter

from dovecote.apis.clicksend.history_routes import history_routes
from dovecote.channels.fax import history
from dovecote.core.money import from_micros
from dovecote.pipeline.status import HISTORY_STATUS

router = APIRouter(tags=["Fax"])

EXPORT_COLUMNS = (
    "message_id",
    "date_added",
    "direction",
    "from",
    "to",
    "status",
    "status_code",
    "status_text",
    "error_code",
    "error_text",
    "message_pages",
    "message_price",
    "schedule",
    "custom_string",
    "from_email",
    "country",
    "subaccount_id",
    "api_username",
)


def entry(row: Mapping[str, Any]) -> dict[str, Any]:
    """One fax, sent or received (the shape of the spec's fax send answer)."""
    return {
        "date_added": int(row["created_at"]),
        "direction": row["direction"],
        "to": row["recipient"],
        "from": row["sender"] or None,
        "schedule": str(row["schedule"] or ""),
        "message_id": row["id"],
        "message_pages": int(row["parts"]),
        "message_price": f"{from_micros(int(row['price_micros'])):.4f}",
        "custom_string": row["custom_string"],
        "from_email": row["from_email"],
        "list_id": str(row["list_id"]) if row["list_id"] is not None else None,
        "user_id": int(row["user_id"]),
        "subaccount_id": int(row["user_id"]),
        "country": row["country"],
        "carrier": "",
        "status": HISTORY_STATUS.get(row["status"], str(row["status"]).capitalize()),
        "status_code": row["status_code"],
        "status_text": row["status_text"],
        "error_code": row["error_code"],
        "error_text": row["error_text"],
        "api_username": row["username"],
        # Dovecote: where the sandbox shows the pages (each `.../page/<n>.png`).
        "_pages_url": f"/sandbox/fax/{row['id']}/page/1.png",
    }


history_routes(
    router,
    channel="fax",
    label="fax",
    permission="access_fax",
    history=history.HISTORY,
    entry=entry,
    columns=EXPORT_COLUMNS,
)
