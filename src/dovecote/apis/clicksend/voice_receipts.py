"""`/v3/voice/receipts`: a call's receipt carries the keys the recipient pressed."""

from __future__ import annotations

from typing import Any

from dovecote.apis.clicksend.receipt_routes import receipt_router, string_receipt
from dovecote.pipeline.receipts import Receipt


def _voice_receipt(receipt: Receipt) -> dict[str, Any]:
    digits = receipt.data.get("digits")
    return {**string_receipt(receipt), "digits": None if digits is None else str(digits)}


router = receipt_router("voice", tag="Voice", permission="access_voice", render=_voice_receipt)
