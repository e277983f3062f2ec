"""Opt-outs: the account's opt-out list, STOP-style replies, and which numbers a send skips.

The opt-out list is an ordinary contact list flagged `is_opt_out` (created when first
needed, named "Opt-Out List"), so it can be read, exported, edited and used with
`remove-opted-out-contacts` like any other. Every SMS send skips the numbers in it.

An inbound SMS whose whole body (trimmed, case-insensitive, trailing punctuation
ignored) is one of the account's opt-out keywords adds its sender to the list. Only the
whole body: "Stop by tomorrow" is a message, not an opt-out. The keywords are the
account option `sms_opt_out_keywords` (`dovecote accounts set NAME
sms_opt_out_keywords=STOP,ARRET`), else `DEFAULT_KEYWORDS`.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncConnection

from dovecote.accounts import store as account_store
from dovecote.contacts import store
from dovecote.contacts.fields import FIELDS
from dovecote.contacts.service import opt_out_list
from dovecote.core.errors import InvalidInput
from dovecote.storage import deferred

OPTION: Final = "sms_opt_out_keywords"
DEFAULT_KEYWORDS: Final = (
    "STOP",
    "STOPALL",
    "UNSUBSCRIBE",
    "CANCEL",
    "END",
    "QUIT",
    "OPTOUT",
    "OPT-OUT",
    "OPT OUT",
)
MAX_KEYWORDS: Final = 50
_TRAILING: Final = " \t\r\n.!?,;:"


def parse_keywords(raw: str) -> list[str]:
    """`STOP, Arret` → ["STOP", "ARRET"]: the value of the account option."""
    words = [word.strip().upper() for word in raw.split(",") if word.strip()]
    if not words:
        raise InvalidInput(f"{OPTION} needs at least one keyword.", field=OPTION)
    if len(words) > MAX_KEYWORDS or any(len(word) > 40 for word in words):
        raise InvalidInput(
            f"{OPTION}: at most {MAX_KEYWORDS} keywords of 40 characters.", field=OPTION
        )
    return list(dict.fromkeys(words))


def keywords(settings: Mapping[str, Any]) -> Sequence[str]:
    configured = settings.get(OPTION)
    if isinstance(configured, list) and configured:
        return [str(word).upper() for word in configured]
    return DEFAULT_KEYWORDS


def is_opt_out(body: str, words: Iterable[str]) -> bool:
    text = " ".join(body.split()).strip(_TRAILING).upper()
    return bool(text) and text in set(words)


async def handle_inbound(
    conn: AsyncConnection, *, account_id: int, user_id: int, sender: str, body: str
) -> bool:
    """Opt `sender` (E.164) out if `body` is an opt-out keyword; True when it was."""
    account = await account_store.get_account(conn, account_id)
    if account is None or not is_opt_out(body, keywords(account.settings)):
        return False
    await opt_out(conn, account_id, user_id, sender)
    return True


async def opt_out(conn: AsyncConnection, account_id: int, user_id: int, number: str) -> None:
    """Add `number` to the account's opt-out list (once)."""
    target = await opt_out_list(conn, account_id, user_id)
    if await store.numbers_in_list(conn, account_id, target.id, [number]):
        return
    now = int(time.time())
    row: dict[str, Any] = {name: None for name in FIELDS}
    await store.insert_contact(
        conn,
        {
            **row,
            "phone_number": number,
            "account_id": account_id,
            "list_id": target.id,
            "created_at": now,
            "updated_at": now,
        },
    )


async def opted_out(conn: AsyncConnection, account_id: int, numbers: Iterable[str]) -> set[str]:
    """Which of `numbers` (E.164) the account's opt-out list holds."""
    batch = deferred.of(conn)
    if batch is not None:
        # In a group commit (every single send): an account without a list costs one
        # statement per batch, not one per send (`store.has_opt_out_list`).
        if not await store.has_opt_out_list(conn, batch, account_id):
            return set()
        return await store.numbers_opted_out(conn, account_id, numbers)
    list_id = await store.opt_out_list_id(conn, account_id)
    if list_id is None:
        return set()
    return await store.numbers_in_list(conn, account_id, list_id, numbers)
