"""Which senders an account may use, and what an SMS without `from` is sent from.

The check runs only when the account's option `sms_require_known_sender` is on (default
off, so existing clients keep sending from any well-formed id): then an SMS's `from`
must be a dedicated number the account bought, one of its verified own numbers, or one
of its approved alpha tags; anything else is `INVALID_SENDER_ID`. An empty `from` (the
shared system number) always passes. Independently, an SMS without `from` takes the
account's default sender for the recipient's country, when one is set.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncConnection

from dovecote.core.phone import InvalidRecipient, parse_recipient
from dovecote.numbers import senders_store as store
from dovecote.pipeline.outbound import Outbound

REQUIRE_KNOWN_SENDER: Final = "sms_require_known_sender"  # the account option
# Kept in `accounts.settings` by default_senders: whether the account has any, so that
# the common send (no `from`, no default senders) costs no query (~2 ms on SQLite).
HAS_DEFAULTS: Final = "sms_default_senders"
INVALID_SENDER_ID: Final = "INVALID_SENDER_ID"
ALPHA_TAG: Final = "alpha_tag"
OWN_NUMBER: Final = "own_number"
SHARED: Final = "shared_longcode"
DEDICATED_TYPES: Final = frozenset({"10DLC", "tollfree", "shortcode", "longcode"})
SENDER_TYPES: Final = frozenset({ALPHA_TAG, OWN_NUMBER, SHARED, *DEDICATED_TYPES})


@dataclass(frozen=True, slots=True)
class SenderBook:
    """The senders one account may use right now."""

    dedicated: frozenset[str]  # E.164 numbers it bought
    own: Mapping[str, str]  # verified own numbers: id → E.164
    tags: Mapping[str, str]  # approved alpha tags: id → tag

    def allows(self, sender: str, country: str | None = None) -> bool:
        if not sender:
            return True  # the shared system number
        if any(c.isalpha() for c in sender):
            wanted = sender.casefold()
            return any(tag.casefold() == wanted for tag in self.tags.values())
        number = _e164(sender, country)
        return number is not None and (number in self.dedicated or number in self.own.values())

    def resolve(self, sender_type: str, sender_id: str, country: str | None = None) -> str | None:
        """The sender a default-sender strategy names, if the account may use it now;
        "" for the shared number."""
        if sender_type == SHARED:
            return ""
        if sender_type == ALPHA_TAG:
            if sender_id in self.tags:  # by id
                return self.tags[sender_id]
            wanted = sender_id.casefold()  # or by the tag itself
            return next((tag for tag in self.tags.values() if tag.casefold() == wanted), None)
        if sender_type == OWN_NUMBER:
            if sender_id in self.own:
                return self.own[sender_id]
            number = _e164(sender_id, country)
            return number if number in self.own.values() else None
        if sender_type in DEDICATED_TYPES:
            number = _e164(sender_id, country)
            return number if number in self.dedicated else None
        return None


def _e164(sender: str, country: str | None) -> str | None:
    try:
        return parse_recipient(sender, country or None).e164
    except InvalidRecipient:
        return None


async def sender_book(conn: AsyncConnection, account_id: int) -> SenderBook:
    rows = await store.sender_rows(conn, account_id)
    return SenderBook(
        dedicated=frozenset(value for kind, value, _ in rows if kind == "d"),
        own={row_id: value for kind, value, row_id in rows if kind == "o"},
        tags={row_id: value for kind, value, row_id in rows if kind == "t"},
    )


def ordered(strategies: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return sorted(strategies, key=lambda s: int(s.get("priority", 0)))


def pick_default(
    book: SenderBook, strategies: Sequence[Mapping[str, Any]], country: str
) -> str | None:
    for strategy in ordered(strategies):
        if strategy.get("status", "ENABLED") != "ENABLED":
            continue
        sender = book.resolve(
            str(strategy["sender_type"]),
            str(strategy["sender_id"]),
            strategy.get("sender_country_code") or country,
        )
        if sender is not None:
            return sender
    return None


async def settle(
    conn: AsyncConnection,
    account_id: int,
    items: Sequence[Outbound],
    *,
    require_known: bool,
    has_defaults: bool = True,
) -> None:
    """Give SMS without `from` their default sender; with `require_known`, mark those
    whose `from` the account may not use INVALID_SENDER_ID. Costs nothing when the
    account has no default senders (`has_defaults` false) and no check is asked for."""
    blank = [item for item in items if item.ok and not item.sender]
    defaults = await store.enabled_defaults(conn, account_id) if blank and has_defaults else []
    if not defaults and not require_known:
        return
    book = await sender_book(conn, account_id)
    by_country = {row["country_code"]: row["strategies"] for row in defaults}
    for item in blank:
        strategies = by_country.get(item.country)
        if strategies:
            item.sender = pick_default(book, strategies, item.country) or ""
    if require_known:
        for item in items:
            if item.ok and not book.allows(item.sender, item.country):
                item.status = INVALID_SENDER_ID
