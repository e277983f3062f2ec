"""Delivery outcomes and how ClickSend reports them in receipts.

Message status (`messages.status`) moves: queued → sending → sent → delivered | failed |
expired; `cancelled` before a claim; `test` for the spec's test numbers (never sent);
`received` for inbound rows. Receipt events (`events.type == "receipt"`) carry
`status_code`/`error_code` as integers, which is what the SDK's SmsReceipt expects.
"""

from __future__ import annotations

from typing import Final

QUEUED: Final = "queued"
SENDING: Final = "sending"
SENT: Final = "sent"
DELIVERED: Final = "delivered"
FAILED: Final = "failed"
EXPIRED: Final = "expired"
CANCELLED: Final = "cancelled"
TEST: Final = "test"
RECEIVED: Final = "received"

FINAL_STATUSES = frozenset({DELIVERED, FAILED, EXPIRED, CANCELLED, TEST})

# ClickSend receipt status codes (2xx success family, 3xx failure family).
RECEIPT_CODES: Final = {
    200: "Sent to carrier",
    201: "Delivered",
    300: "Failed",
    301: "Expired",
    302: "Rejected",
}
STATUS_FOR_CODE: Final = {200: SENT, 201: DELIVERED, 300: FAILED, 301: EXPIRED, 302: FAILED}

# What history shows (ClickSend capitalises its status words).
HISTORY_STATUS: Final = {
    QUEUED: "Queued",
    SENDING: "Sending",
    SENT: "Sent",
    DELIVERED: "Delivered",
    FAILED: "Failed",
    EXPIRED: "Expired",
    CANCELLED: "Cancelled",
    TEST: "Completed",
    RECEIVED: "Received",
}
