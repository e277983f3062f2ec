"""Monthly usage per subaccount (ClickSend's `/account/usage/{year}/{month}/subaccount`)."""

from __future__ import annotations

import calendar
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from dovecote.accounts.usage_store import usage_by_user
from dovecote.core.models import Principal
from dovecote.core.money import from_micros

CHANNELS = ("sms", "mms", "voice", "fax", "post", "email", "email_transactional", "postcards")


async def by_subaccount(
    conn: AsyncConnection, principal: Principal, year: int, month: int
) -> dict[str, Any]:
    start = calendar.timegm((year, month, 1, 0, 0, 0))
    next_year, next_month = (year + 1, 1) if month == 12 else (year, month + 1)
    end = calendar.timegm((next_year, next_month, 1, 0, 0, 0))
    rows = await usage_by_user(conn, principal.account.id, start, end)
    data: dict[str, Any] = {channel: [] for channel in CHANNELS}
    totals = {channel: {"count": 0, "price": 0.0} for channel in CHANNELS}
    for row in rows:
        channel = row["channel"] if row["channel"] in data else "email_transactional"
        count = int(row["count"] or 0)
        price = float(from_micros(int(row["price"] or 0)))
        is_email = channel.startswith("email")
        data[channel].append(
            {
                "subaccount_id": row["user_id"],
                "username": row["username"] or "",
                # The SDK types email counts as integers and the others as "29.00" strings.
                "total_count": count if is_email else f"{count:.2f}",
                "total_price": price,
                "notes": row["notes"],
            }
        )
        totals[channel]["count"] += count
        totals[channel]["price"] = round(float(totals[channel]["price"]) + price, 6)
    for channel in CHANNELS:
        data[f"{channel}_total"] = totals[channel]
    return data
