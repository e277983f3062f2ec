"""`/v3/mms/history` and its CSV export (a signed link that needs no credentials)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from fastapi import APIRouter, Request

from dovecote.apis.clicksend.history_routes import history_routes
from dovecote.apis.clicksend.mms import media_url
from dovecote.apis.clicksend.render import money
from dovecote.channels.mms import history
from dovecote.pipeline.history import HistoryEntry, entry_from_row
from dovecote.pipeline.status import HISTORY_STATUS
from dovecote.runtime import Runtime

router = APIRouter(tags=["MMS"])

EXPORT_COLUMNS = (
    "message_id",
    "date_added",
    "direction",
    "from",
    "to",
    "subject",
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


def entry(item: HistoryEntry, url: str | None) -> dict[str, Any]:
    """One MMS; types follow SDK 6's ViewMmsHistoryDataAllOfDataInner (`date` a string,
    `date_added` an integer, `message_parts` "1.00")."""
    return {
        "direction": item.direction,
        "date": str(item.created_at),
        "date_added": item.created_at,
        "to": item.recipient,
        "from": item.sender,
        "subject": item.subject,
        "body": item.body,
        "priority": 10,
        "_media_file_url": url,
        "status": HISTORY_STATUS.get(item.status, item.status.capitalize()),
        "schedule": str(item.schedule) if item.schedule is not None else None,
        "status_code": item.status_code,
        "status_text": item.status_text,
        "error_code": item.error_code,
        "error_text": item.error_text,
        "message_id": item.message_id,
        "message_parts": f"{item.parts:.2f}",
        "message_price": money(item.price_micros),
        "from_email": item.from_email,
        "list_id": str(item.list_id) if item.list_id is not None else None,
        "custom_string": item.custom_string,
        "contact_id": None,
        "user_id": item.user_id,
        "subaccount_id": item.user_id,
        "country": item.country,
        "carrier": "",
        "first_name": None,
        "last_name": None,
        "_api_username": item.username,
    }


def rendered(request: Request, runtime: Runtime, item: HistoryEntry) -> dict[str, Any]:
    url = media_url(request, runtime, item.media_key) if item.media_key else None
    return entry(item, url)


def row_entry(row: Mapping[str, Any]) -> dict[str, Any]:
    """An exported row: no media link (a link in a spreadsheet would outlive its signature)."""
    return entry(entry_from_row(row), None)


def page_entry(request: Request, runtime: Runtime) -> Callable[[Mapping[str, Any]], dict[str, Any]]:
    return lambda row: rendered(request, runtime, entry_from_row(row))


history_routes(
    router,
    channel="mms",
    label="MMS",
    permission="access_mms",
    history=history.HISTORY,
    entry=row_entry,
    columns=EXPORT_COLUMNS,
    page_entry=page_entry,
    list_summary="Get all MMS history",
)
