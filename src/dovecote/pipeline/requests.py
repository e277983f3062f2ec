"""What every channel's send request shares: how many messages, a schedule, a list id.

Each channel validates its own fields; these are the ClickSend conventions common to
SMS, MMS, voice and fax, so each channel answers them the same way.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Literal

from dovecote.core.errors import InvalidInput
from dovecote.pipeline.outbound import MAX_MESSAGES

# A year ahead is far enough for any real campaign and catches millisecond timestamps.
MAX_SCHEDULE_AHEAD = 366 * 24 * 3600
# `messages.list_id` is an INTEGER column (int32 on PostgreSQL).
MAX_LIST_ID = 2**31 - 1
_LIST_ID = re.compile(r"[0-9]+")


def check_count(requests: Sequence[object]) -> None:
    if not requests:
        raise InvalidInput("messages must hold at least one message.", field="messages")
    if len(requests) > MAX_MESSAGES:
        raise InvalidInput(
            f"Too many recipients: at most {MAX_MESSAGES} messages per request.",
            code="TOO_MANY_RECIPIENTS",
            field="messages",
        )


def parse_list_id(raw: int | str | None) -> int | Literal[False] | None:
    """The list id, None when absent, False when no list can have it: anything but ASCII
    digits (`"²"` passes `str.isdigit` and fails `int`), or past the int32 column."""
    if raw is None or raw == "":
        return None
    if isinstance(raw, bool):
        return False
    text = str(raw)
    if not _LIST_ID.fullmatch(text) or len(text) > len(str(MAX_LIST_ID)):
        return False
    value = int(text)
    return value if value <= MAX_LIST_ID else False


def parse_schedule(raw: int | float | str | None, now: float) -> int | bool | None:
    """Unix seconds, or None for "now"; False when invalid. Past times mean "send now"."""
    if raw is None or raw == "" or raw == 0:
        return None
    try:
        value = int(float(raw))
    except (TypeError, ValueError, OverflowError):  # OverflowError: "inf", 1e400
        return False
    if value < 0 or value > now + MAX_SCHEDULE_AHEAD:
        return False
    return value if value > now else None
