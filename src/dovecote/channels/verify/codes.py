"""EmailVerify: one-time codes mailed to an address, then checked.

A code is `code_length` digits from `secrets`, mailed through Dovecote's own email
pipeline and stored only as an HMAC-SHA256 keyed with the server secret over (account,
address, code): a leaked database reveals no code, and one account's code never matches
another account's row. Checks compare digests in constant time.

Per (account, address) there is one live code. It is pending until it is approved (once:
codes are single use), expires (`ttl_seconds` after it was sent) or runs out of attempts
(`max_attempts` checks, PayPI's 20 by default); sending a new code replaces it and resets
the count. Every check spends an attempt through one conditional UPDATE, so no number of
parallel guesses gets more than `max_attempts` comparisons.

Each transition is recorded in the event log, channel `verify`, against the id of the email
that carried the code: `sent`, `failed_attempt`, `approved`, `expired`,
`max_attempts_reached`. The PayPI/ClickSend test addresses send nothing, keep no state and
accept `123456`.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import json
import math
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from email_validator import EmailNotValidError, validate_email
from limits import parse
from limits.aio.strategies import RateLimiter
from sqlalchemy.ext.asyncio import AsyncConnection

from dovecote.accounts import store as accounts_store
from dovecote.channels.verify import message as otp_email
from dovecote.channels.verify import store
from dovecote.core.errors import InvalidInput, RateLimited
from dovecote.core.models import Account, Principal
from dovecote.pipeline.events import Event, EventLog
from dovecote.pipeline.system_mail import SystemMail
from dovecote.settings import Settings

CHANNEL: Final = "verify"

# Statuses of a code (`email_verifications.status`), Twilio Verify's vocabulary.
PENDING: Final = store.PENDING
APPROVED: Final = "approved"
EXPIRED: Final = "expired"
MAX_ATTEMPTS_REACHED: Final = "max_attempts_reached"

# The spec's example address and ClickSend's test addresses: client test suites get a
# fixed path that sends nothing.
TEST_ADDRESSES: Final = frozenset(
    {"test@test.com", "test1@test.com", "test2@test.com", "test3@test.com"}
)
TEST_CODE: Final = "123456"

# Per-account overrides in `accounts.settings`, with their allowed ranges.
OVERRIDE_RANGES: Final = {
    "otp_code_length": (4, 10),
    "otp_ttl_seconds": (1, 7 * 24 * 3600),
    "otp_max_attempts": (1, 1000),
}
BRAND_KEY: Final = "otp_brand_name"
BRAND_MAX_LENGTH: Final = 100


class UndeliverableAddress(InvalidInput):
    """The address is malformed or on the account's suppression list."""


class CheckResult(enum.Enum):
    APPROVED = "approved"
    WRONG_CODE = "wrong_code"
    NO_CODE = "no_code"  # nothing was sent to this address by this account
    USED = "used"  # already approved: codes work once
    EXPIRED = "expired"
    TOO_MANY_ATTEMPTS = "too_many_attempts"


@dataclass(frozen=True, slots=True)
class Policy:
    code_length: int
    ttl_seconds: int
    max_attempts: int
    brand_name: str


@dataclass(frozen=True, slots=True)
class SentCode:
    email: str
    message_id: str | None  # None for a test address: nothing was sent
    expires_at: float | None


def policy(settings: Settings, account: Account) -> Policy:
    """The server's defaults with the account's valid overrides applied."""
    values: dict[str, Any] = {
        "code_length": settings.otp_code_length,
        "ttl_seconds": settings.otp_ttl_seconds,
        "max_attempts": settings.otp_max_attempts,
        "brand_name": settings.otp_brand_name,
    }
    overrides = account.settings
    for key, (low, high) in OVERRIDE_RANGES.items():
        value = overrides.get(key)
        # Values are validated when set; a hand-edited bad one falls back to the default.
        if isinstance(value, int) and not isinstance(value, bool) and low <= value <= high:
            values[key.removeprefix("otp_")] = value
    brand = overrides.get(BRAND_KEY)
    if isinstance(brand, str) and brand.strip():
        values["brand_name"] = brand.strip()[:BRAND_MAX_LENGTH]
    return Policy(**values)


async def configure(
    conn: AsyncConnection, account: Account, changes: Mapping[str, Any], settings: Settings
) -> Policy:
    """Set (or, with None, clear) an account's overrides; returns the resulting policy."""
    merged = dict(account.settings)
    for key, value in changes.items():
        if key not in OVERRIDE_RANGES and key != BRAND_KEY:
            raise InvalidInput(f"{key} is not an EmailVerify setting", field=key)
        if value is None:
            merged.pop(key, None)
        elif key == BRAND_KEY:
            if not isinstance(value, str) or not value.strip() or len(value) > BRAND_MAX_LENGTH:
                raise InvalidInput(f"{key} must be 1 to {BRAND_MAX_LENGTH} characters", field=key)
            merged[key] = value.strip()
        else:
            low, high = OVERRIDE_RANGES[key]
            if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
                raise InvalidInput(f"{key} must be a whole number from {low} to {high}", field=key)
            merged[key] = value
    await accounts_store.update_account(conn, account.id, {"settings": merged})
    updated = await accounts_store.get_account(conn, account.id)
    assert updated is not None  # the caller's own account
    return policy(settings, updated)


def new_code(length: int) -> str:
    # randbelow is uniform over all 10**length codes, leading zeros included.
    return f"{secrets.randbelow(10**length):0{length}d}"


def hash_code(secret_key: str, account_id: int, email: str, code: str) -> str:
    # JSON keeps the three parts unambiguous whatever characters the address holds.
    message = json.dumps([account_id, email, code]).encode()
    return hmac.new(secret_key.encode(), message, hashlib.sha256).hexdigest()


def normalize_address(value: str) -> str:
    """The address to mail: syntax-checked offline (no DNS), domain normalised."""
    try:
        checked = validate_email(value.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise UndeliverableAddress(f"Not a valid email address: {exc}", field="email") from None
    return str(checked.normalized)


def address_key(value: str) -> str:
    """How codes are filed: the normalised address, lower-cased (any case verifies)."""
    try:
        return normalize_address(value).lower()
    except UndeliverableAddress:
        return value.strip().lower()  # no code was ever sent to it; the lookup just misses


async def send_code(
    conn: AsyncConnection,
    principal: Principal,
    email: str,
    *,
    settings: Settings,
    limiter: RateLimiter,
    mail: SystemMail,
    events: EventLog,
    originating_ip: str | None = None,
    now: float | None = None,
) -> SentCode:
    """Mail a fresh code to `email`, replacing any earlier one of this account's.

    Raises UndeliverableAddress for a malformed or suppressed address, RateLimited past
    `otp_sends_per_address_per_hour`, and whatever `mail.send` refuses (an account that
    may not send, the account's hourly cap on system mail). The code leaves in the same
    transaction that files it: if the send fails, no code is stored.
    """
    moment = time.time() if now is None else now
    address = normalize_address(email)
    key = address.lower()
    if key in TEST_ADDRESSES:
        return SentCode(email=key, message_id=None, expires_at=None)
    account_id = principal.account.id
    if await mail.suppressed(conn, account_id, key):
        raise UndeliverableAddress("The address is on the suppression list", field="email")
    rules = policy(settings, principal.account)
    code = new_code(rules.code_length)
    letter = otp_email.render(code=code, brand=rules.brand_name, ttl_seconds=rules.ttl_seconds)
    message_id = await mail.send(
        conn,
        account_id=account_id,
        user_id=principal.user.id,
        to=address,
        subject=letter.subject,
        html=letter.html,
        text=letter.text,
        from_email=settings.otp_from_email,
        from_name=rules.brand_name,
        categories=("emailverify",),
        api_key_id=None if principal.api_key_id is None else str(principal.api_key_id),
        originating_ip=originating_ip,
        now=moment,
    )
    # Counted after `mail.send`, which refuses an account that may not send: such an
    # account gets that refusal, never a 429. Raising rolls the transaction back, email
    # included.
    await _hit(
        limiter,
        f"{settings.otp_sends_per_address_per_hour}/hour",
        ("otp-send", str(account_id), key),
        "Too many codes sent to this address - please try again later",
    )
    expires_at = moment + rules.ttl_seconds
    verification_id = await store.replace(
        conn,
        {
            "account_id": account_id,
            "user_id": principal.user.id,
            "email": key,
            "code_hash": hash_code(settings.secret_key, account_id, key, code),
            "status": PENDING,
            "attempts": 0,
            "max_attempts": rules.max_attempts,
            "expires_at": expires_at,
            "verified_at": None,
            "message_id": message_id,
            "created_at": int(moment),
        },
    )
    await _record(
        events,
        conn,
        principal,
        message_id,
        "sent",
        moment,
        {
            "email": key,
            "verification_id": verification_id,
            "expires_at": expires_at,
            "max_attempts": rules.max_attempts,
        },
    )
    return SentCode(email=key, message_id=message_id, expires_at=expires_at)


async def check_code(
    conn: AsyncConnection,
    principal: Principal,
    email: str,
    code: str,
    *,
    settings: Settings,
    limiter: RateLimiter,
    events: EventLog,
    now: float | None = None,
) -> CheckResult:
    """Check `code` against the account's live code for `email`; spends one attempt.

    Raises RateLimited past `otp_checks_per_account_per_minute`. Never raises for a
    wrong, unknown, used or expired code: those are results, and their events must be
    committed with the request.
    """
    moment = time.time() if now is None else now
    account_id = principal.account.id
    await _hit(
        limiter,
        f"{settings.otp_checks_per_account_per_minute}/minute",
        ("otp-check", str(account_id)),
        "Too many verification checks - please try again later",
    )
    key = address_key(email)
    code = code.strip()
    if key in TEST_ADDRESSES:
        approved = hmac.compare_digest(code.encode(), TEST_CODE.encode())
        return CheckResult.APPROVED if approved else CheckResult.WRONG_CODE
    row = await store.get(conn, account_id, key)
    if row is None:
        return CheckResult.NO_CODE
    if row["status"] != PENDING:
        return _settled_result(row)
    verification_id, stored = int(row["id"]), str(row["code_hash"])
    message_id = str(row["message_id"])
    data: dict[str, Any] = {"email": key, "verification_id": verification_id}
    if row["expires_at"] <= moment:
        if await store.settle(conn, verification_id, stored, EXPIRED):
            await _record(events, conn, principal, message_id, EXPIRED, moment, data)
        return CheckResult.EXPIRED
    attempt = await store.take_attempt(conn, verification_id, stored)
    if attempt is None:
        # Parallel checks spent the last attempts, or settled or replaced the code.
        current = await store.get(conn, account_id, key)
        if current is None or current["code_hash"] != stored:
            return CheckResult.WRONG_CODE  # a new code came; this guess was for the old one
        if current["attempts"] >= current["max_attempts"]:
            return CheckResult.TOO_MANY_ATTEMPTS
        return _settled_result(current)
    data["attempt"] = attempt
    # Equal-length hex digests: the comparison takes the same time however much matches.
    if hmac.compare_digest(hash_code(settings.secret_key, account_id, key, code), stored):
        if await store.settle(conn, verification_id, stored, APPROVED, verified_at=int(moment)):
            await _record(events, conn, principal, message_id, APPROVED, moment, data)
            return CheckResult.APPROVED
        return CheckResult.USED  # a parallel check with the same code won
    max_attempts = int(row["max_attempts"])
    data["attempts_left"] = max(0, max_attempts - attempt)
    await _record(events, conn, principal, message_id, "failed_attempt", moment, data)
    if attempt >= max_attempts and await store.settle(
        conn, verification_id, stored, MAX_ATTEMPTS_REACHED
    ):
        await _record(events, conn, principal, message_id, MAX_ATTEMPTS_REACHED, moment, data)
    return CheckResult.WRONG_CODE


def _settled_result(row: Mapping[Any, Any]) -> CheckResult:
    status = row["status"]
    if status == APPROVED:
        return CheckResult.USED
    if status == EXPIRED:
        return CheckResult.EXPIRED
    if status == MAX_ATTEMPTS_REACHED or row["attempts"] >= row["max_attempts"]:
        return CheckResult.TOO_MANY_ATTEMPTS
    return CheckResult.WRONG_CODE


async def _hit(
    limiter: RateLimiter, limit: str, identifiers: tuple[str, ...], message: str
) -> None:
    item = parse(limit)
    if not await limiter.hit(item, *identifiers):
        stats = await limiter.get_window_stats(item, *identifiers)
        retry_after = max(1, math.ceil(stats.reset_time - time.time()))
        raise RateLimited(message, retry_after=retry_after)


async def _record(
    events: EventLog,
    conn: AsyncConnection,
    principal: Principal,
    message_id: str,
    kind: str,
    moment: float,
    data: dict[str, Any],
) -> None:
    await events.record(
        conn,
        [Event(message_id, principal.account.id, principal.user.id, CHANNEL, kind, moment, data)],
    )
