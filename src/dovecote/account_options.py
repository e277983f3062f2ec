"""Dovecote's per-account options that no public API has a field for.

They live in `accounts.settings` and are set by operators (`dovecote accounts set`, or
`PATCH /dovecote/accounts/{username}/options` as the owner, `apis/account_options.py`):
the Email Activity extended history, email tracking switches, SendGrid's unverified-from
allowance, the SMS opt-out keywords, reselling, and EmailVerify's per-account policy (validated by
`channels/verify/codes.configure`).
It spans features (accounts, Email Activity, email, EmailVerify), so it sits above them,
beside the runtime, below the APIs that expose it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from dovecote.accounts import store
from dovecote.channels.verify import codes as otp
from dovecote.contacts import optouts
from dovecote.core.errors import InvalidInput, NotFound
from dovecote.numbers import senders
from dovecote.reseller import program as reseller
from dovecote.settings import Settings

SWITCHES = frozenset(
    {
        "email_activity_extended",  # 60 days of Email Activity instead of 2, and CSV downloads
        "email_open_tracking",
        "email_click_tracking",
        "sendgrid_unverified_from",  # mail/send may use a from address that is not verified
        senders.REQUIRE_KNOWN_SENDER,  # an SMS's from must be a number or tag of the account
        reseller.OPTION,  # the account may resell: own client accounts (docs/reseller.md)
    }
)
OTP_OPTIONS = frozenset({*otp.OVERRIDE_RANGES, otp.BRAND_KEY})
# Lists of words, given comma-separated: the SMS replies that opt a number out.
WORD_LISTS = frozenset({optouts.OPTION})
_TRUE, _FALSE = frozenset({"1", "true", "yes", "on"}), frozenset({"0", "false", "no", "off"})


def parse(assignments: list[str]) -> dict[str, Any]:
    """`key=value` strings → typed values; an empty value clears the option."""
    changes: dict[str, Any] = {}
    for assignment in assignments:
        key, sep, raw = assignment.partition("=")
        key, raw = key.strip(), raw.strip()
        if not sep or key not in SWITCHES | OTP_OPTIONS | WORD_LISTS:
            known = ", ".join(sorted(SWITCHES | OTP_OPTIONS | WORD_LISTS))
            raise InvalidInput(f"{assignment!r}: use key=value with a key among {known}.")
        if raw == "":
            changes[key] = None
        elif key in SWITCHES:
            if raw.lower() not in _TRUE | _FALSE:
                raise InvalidInput(f"{key} takes true or false.", field=key)
            changes[key] = raw.lower() in _TRUE
        elif key == otp.BRAND_KEY:
            changes[key] = raw
        elif key in WORD_LISTS:
            changes[key] = optouts.parse_keywords(raw)
        else:
            try:
                changes[key] = int(raw)
            except ValueError:
                raise InvalidInput(f"{key} takes a whole number.", field=key) from None
    return changes


def parse_values(body: Mapping[str, object]) -> dict[str, Any]:
    """JSON values (`PATCH /dovecote/accounts/{username}/options`) → typed values, with
    the same rules as `parse`: `null` clears an option; switches take booleans, the OTP
    policy whole numbers (its brand a string), word lists an array or a comma string."""
    assignments = []
    for key, value in body.items():
        if value is None:
            text = ""
        elif isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, int | str):
            text = str(value)
        elif isinstance(value, list) and all(isinstance(word, str) for word in value):
            text = ",".join(value)
        else:
            raise InvalidInput(f"{key} takes a boolean, a number, a string or null.", field=key)
        if key in SWITCHES and not isinstance(value, bool | None):
            raise InvalidInput(f"{key} takes true or false.", field=key)
        assignments.append(f"{key}={text}")
    return parse(assignments)


async def get_options(conn: AsyncConnection, username: str) -> dict[str, Any]:
    """The options set on the account of `username`."""
    user = await store.get_user_by_username(conn, username)
    account = await store.get_account(conn, user.account_id) if user else None
    if account is None:
        raise NotFound(f"No user named {username!r}.")
    options = SWITCHES | OTP_OPTIONS | WORD_LISTS
    return {key: account.settings[key] for key in sorted(account.settings) if key in options}


async def set_options(
    conn: AsyncConnection, username: str, changes: Mapping[str, Any], settings: Settings
) -> dict[str, Any]:
    """Apply `changes` to the account of `username`; returns the account's options."""
    user = await store.get_user_by_username(conn, username)
    account = await store.get_account(conn, user.account_id) if user else None
    if account is None:
        raise NotFound(f"No user named {username!r}.")
    otp_changes = {key: value for key, value in changes.items() if key in OTP_OPTIONS}
    if otp_changes:
        await otp.configure(conn, account, otp_changes, settings)  # validates ranges
        account = await store.get_account(conn, account.id)
        assert account is not None
    merged = dict(account.settings)
    for key, value in changes.items():
        if key in SWITCHES | WORD_LISTS:
            if value is None:
                merged.pop(key, None)
            else:
                merged[key] = value
    await store.update_account(conn, account.id, {"settings": merged})
    options = SWITCHES | OTP_OPTIONS | WORD_LISTS
    return {key: merged[key] for key in sorted(merged) if key in options}
