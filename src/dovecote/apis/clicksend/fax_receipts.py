"""`/v3/fax/receipts`: a fax's receipt says how many pages went through."""

from __future__ import annotations

from typing import Any

from dovecote.apis.clicksend.receipt_routes import receipt_router, string_receipt
from dovecote.pipeline.receipts import Receipt


def _fax_receipt(receipt: Receipt) -> dict[str, Any]:
    return {**string_receipt(receipt), "message_pages": receipt.data.get("pages")}


router = receipt_router("fax", tag="Fax", permission="access_fax", render=_fax_receipt)
