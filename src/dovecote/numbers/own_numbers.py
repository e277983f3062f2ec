"""Own numbers: a number the customer already has (a mobile, an office line), usable as
an SMS sender once proven theirs.

Proof is a code sent by SMS to the number through the ordinary pipeline (queued,
delivered by the SMS transport, visible in the sandbox) and typed back. The SMS is
Dovecote's own (`source = system`, free), so sends are capped per number and per
account: otherwise anyone could text arbitrary numbers at no cost. Only an HMAC of the
code is kept (keyed with the server secret and the verification id), and every check
spends an attempt through one conditional UPDATE, as EmailVerify's codes do.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncConnection

from dovecote.core.errors import InvalidInput, NotFound, RateLimited
from dovecote.core.ids import new_id
from dovecote.core.models import Principal
from dovecote.core.phone import InvalidRecipient, parse_recipient
from dovecote.numbers import senders_store as store
from dovecote.pipeline import outbound
from dovecote.pipeline.events import EventLog
from dovecote.storage.tables import SYSTEM_SOURCE, own_number_verifications, own_numbers

UNVERIFIED: Final = "UNVERIFIED"
VERIFIED: Final = "VERIFIED"
PENDING: Final = "PENDING"
EXPIRED: Final = "EXPIRED"
FAILED: Final = "FAILED"
CODE_TTL: Final = 10 * 60
ATTEMPTS: Final = 5
PER_NUMBER_PER_HOUR: Final = 5
PER_ACCOUNT_PER_HOUR: Final = 50
MAX_LABEL: Final = 100


@dataclass(frozen=True, slots=True)
class OwnNumber:
    id: str
    phone_number: str
    country: str
    label: str
    status: str
    verified_at: int | None
    created_at: int
    updated_at: int


@dataclass(frozen=True, slots=True)
class Verification:
    id: str
    own_number_id: str
    status: str
    expires_at: int
    remaining_attempts: int
    created_at: int
    updated_at: int
    message_id: str | None = None


def own_number_from_row(row: Mapping[Any, Any]) -> OwnNumber:
    return OwnNumber(
        id=row["id"],
        phone_number=row["phone_number"],
        country=row["country"],
        label=row["label"],
        status=row["status"],
        verified_at=row["verified_at"],
        created_at=int(row["created_at"]),
        updated_at=int(row["updated_at"]),
    )


def verification_from_row(row: Mapping[Any, Any], status: str | None = None) -> Verification:
    return Verification(
        id=row["id"],
        own_number_id=row["own_number_id"],
        status=status or row["status"],
        expires_at=int(row["expires_at"]),
        remaining_attempts=int(row["remaining_attempts"]),
        created_at=int(row["created_at"]),
        updated_at=int(row["updated_at"]),
        message_id=row["message_id"],
    )


def _digest(secret: str, verification_id: str, code: str) -> str:
    key = secret.encode()
    return hmac.new(key, f"{verification_id}:{code}".encode(), hashlib.sha256).hexdigest()


def _label(raw: str | None) -> str:
    label = (raw or "").strip()
    if len(label) > MAX_LABEL:
        raise InvalidInput(f"label must be at most {MAX_LABEL} characters.", field="label")
    return label


async def request_verification(
    conn: AsyncConnection,
    principal: Principal,
    phone_number: str | None,
    country: str | None,
    label: str | None,
    *,
    secret: str,
    throttle_window: int,
    events: EventLog,
    now: float | None = None,
) -> Verification:
    """Register the number (if new) and text it a code; the caller types the code back."""
    stamp = time.time() if now is None else now
    clock = int(stamp)
    try:
        number = parse_recipient(phone_number or "", country or principal.account.country)
    except InvalidRecipient as exc:
        raise InvalidInput(f"phone_number: {exc}", field="phone_number") from None
    account_id = principal.account.id
    row = await store.own_number_by_phone(conn, account_id, number.e164)
    if row is not None and row["status"] == VERIFIED:
        raise InvalidInput(f"{number.e164} is already verified.", field="phone_number")
    if row is None:
        row = await store.insert(
            conn,
            own_numbers,
            {
                "id": new_id().lower(),
                "account_id": account_id,
                "user_id": principal.user.id,
                "phone_number": number.e164,
                "country": number.country,
                "label": _label(label),
                "status": UNVERIFIED,
                "created_at": clock,
                "updated_at": clock,
            },
        )
    hour_ago = clock - 3600
    if (
        await store.verifications_since(conn, account_id, row["id"], hour_ago)
        >= PER_NUMBER_PER_HOUR
        or await store.verifications_since(conn, account_id, None, hour_ago) >= PER_ACCOUNT_PER_HOUR
    ):
        raise RateLimited("Too many verification codes sent; try again later.", retry_after=3600)
    code = f"{secrets.randbelow(10**6):06d}"
    verification_id = new_id().lower()
    item = outbound.Outbound(
        channel="sms",
        recipient=number.e164,
        country=number.country,
        body=f"Your Dovecote verification code is {code}",
        source=SYSTEM_SOURCE,
    )
    accepted = await outbound.accept(
        conn, principal, [item], now=stamp, throttle_window=throttle_window, events=events
    )
    if not accepted.items[0].ok:
        raise InvalidInput(
            f"The code could not be sent: {accepted.items[0].status}.", code=item.status
        )
    values = {
        "id": verification_id,
        "own_number_id": row["id"],
        "account_id": account_id,
        "code_hash": _digest(secret, verification_id, code),
        "status": PENDING,
        "remaining_attempts": ATTEMPTS,
        "expires_at": clock + CODE_TTL,
        "message_id": item.id,
        "created_at": clock,
        "updated_at": clock,
    }
    return verification_from_row(await store.insert(conn, own_number_verifications, values))


async def verify(
    conn: AsyncConnection,
    principal: Principal,
    verification_id: str,
    code: str | None,
    *,
    secret: str,
    now: int | None = None,
) -> Verification:
    """Check a code. Returns the verification with its new status (VERIFIED, or PENDING
    with one attempt fewer, or EXPIRED/FAILED): a wrong code is not an exception, because
    the spent attempt must be committed with the answer."""
    clock = int(time.time()) if now is None else now
    account_id = principal.account.id
    row = await store.get(conn, own_number_verifications, account_id, verification_id)
    if row is None:
        raise NotFound(f"Verification {verification_id} not found.")
    if not code or not code.strip():
        raise InvalidInput("code must not be empty.", field="code")
    if row["status"] == VERIFIED:  # codes are single use
        raise InvalidInput("This verification is already complete.", field="verification_id")
    spent = await store.spend_attempt(conn, verification_id, clock)
    if spent is None:
        status = row["status"]
        if status == PENDING:
            status = EXPIRED if row["expires_at"] <= clock else FAILED
            row = await store.update(
                conn, own_number_verifications, account_id, verification_id, {"status": status}
            )
            assert row is not None
        return verification_from_row(row)
    if not hmac.compare_digest(spent["code_hash"], _digest(secret, verification_id, code.strip())):
        if spent["remaining_attempts"] == 0:
            spent = await store.update(
                conn, own_number_verifications, account_id, verification_id, {"status": FAILED}
            )
            assert spent is not None
        return verification_from_row(spent)
    await store.update(
        conn, own_number_verifications, account_id, verification_id, {"status": VERIFIED}
    )
    await store.update(
        conn,
        own_numbers,
        account_id,
        spent["own_number_id"],
        {"status": VERIFIED, "verified_at": clock, "updated_at": clock},
    )
    return verification_from_row(spent, VERIFIED)


async def list_own_numbers(
    conn: AsyncConnection, principal: Principal, *, limit: int, offset: int
) -> list[OwnNumber]:
    rows = await store.listing(conn, own_numbers, principal.account.id, limit=limit, offset=offset)
    return [own_number_from_row(row) for row in rows]


async def get_own_number(
    conn: AsyncConnection, principal: Principal, own_number_id: str
) -> OwnNumber:
    row = await store.get(conn, own_numbers, principal.account.id, own_number_id)
    if row is None:
        raise NotFound(f"Own number {own_number_id} not found.")
    return own_number_from_row(row)


async def update_own_number(
    conn: AsyncConnection, principal: Principal, own_number_id: str, label: str | None
) -> OwnNumber:
    if label is None:
        # SDK 6's update_own_number sends no body at all: nothing to change, not an error.
        return await get_own_number(conn, principal, own_number_id)
    row = await store.update(
        conn,
        own_numbers,
        principal.account.id,
        own_number_id,
        {"label": _label(label), "updated_at": int(time.time())},
    )
    if row is None:
        raise NotFound(f"Own number {own_number_id} not found.")
    return own_number_from_row(row)


async def delete_own_number(
    conn: AsyncConnection, principal: Principal, own_number_id: str
) -> OwnNumber:
    item = await get_own_number(conn, principal, own_number_id)
    await store.delete(conn, own_numbers, principal.account.id, own_number_id)
    return item
