"""`/v3/sms/history` and its CSV export (a signed link that needs no credentials)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter

from dovecote.apis.clicksend.history_routes import history_routes
from dovecote.apis.clicksend.render import money
from dovecote.channels.sms import history
from dovecote.pipeline.history import HistoryEntry, entry_from_row
from dovecote.pipeline.status import HISTORY_STATUS

router = APIRouter(tags=["SMS"])

# The columns of an export, in order: the history fields a spreadsheet user needs.
EXPORT_COLUMNS = (
    "message_id",
    "date",
    "direction",
    "from",
    "to",
    "body",
    "status",
    "status_code",
    "status_text",
    "error_code",
    "error_text",
    "message_parts",
    "message_price",
    "schedule",
    "custom_string",
    "list_id",
    "country",
    "subaccount_id",
    "_api_username",
)


def entry(item: HistoryEntry) -> dict[str, Any]:
    """One history row; types follow the SDK's ViewSmsHistoryDataAllOfDataInner."""
    return {
        "direction": item.direction,
        "date": item.created_at,
        "to": item.recipient,
        "body": item.body,
        "status": HISTORY_STATUS.get(item.status, item.status.capitalize()),
        "from": item.sender,
        "schedule": str(item.schedule) if item.schedule is not None else None,
        "status_code": item.status_code,
        "status_text": item.status_text,
        "error_code": item.error_code,
        "error_text": item.error_text,
        "message_id": item.message_id,
        "message_parts": item.parts,
        "message_price": money(item.price_micros),
        "from_email": item.from_email,
        "list_id": str(item.list_id) if item.list_id is not None else None,
        "custom_string": item.custom_string,
        "contact_id": None,  # Dovecote has no contacts yet
        "user_id": item.user_id,
        "subaccount_id": item.user_id,
        "country": item.country,
        "carrier": "",
        "first_name": None,
        "last_name": None,
        "_api_username": item.username,
    }


def row_entry(row: Mapping[str, Any]) -> dict[str, Any]:
    return entry(entry_from_row(row))


history_routes(
    router,
    channel="sms",
    label="SMS",
    permission=None,
    history=history.HISTORY,
    entry=row_entry,
    columns=EXPORT_COLUMNS,
    list_summary="Get all history",
)
