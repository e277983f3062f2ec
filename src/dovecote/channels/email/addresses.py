"""Allowed sender addresses: an account may send email only from addresses it has verified.

Verification proves control of the mailbox: `send_verification` mails a fresh random
token to the address and keeps only its SHA-256, so a leaked database cannot verify
anything; `verify` compares hashes in constant time. A token works for
`email_address_token_ttl` seconds (24 hours) after it was mailed; after that the
address's owner asks for a new email, whose token replaces it.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from email_validator import EmailNotValidError, validate_email
from limits.aio.strategies import RateLimiter
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from dovecote.accounts.service import now, require
from dovecote.channels.email import addresses_store as store
from dovecote.channels.email.system_mail import hit
from dovecote.core.errors import Conflict, InvalidInput, NotFound
from dovecote.core.models import Principal
from dovecote.pipeline.system_mail import SystemMail
from dovecote.settings import Settings
from dovecote.storage.listing import ListQuery, Page

PERMISSION = "access_email"


@dataclass(frozen=True, slots=True)
class SenderAddress:
    id: int
    email: str
    verified: bool
    user_id: int
    created_at: int


def address_from_row(row: Mapping[Any, Any]) -> SenderAddress:
    return SenderAddress(
        id=int(row["id"]),
        email=row["email"],
        verified=bool(row["verified"]),
        user_id=int(row["user_id"]),
        created_at=int(row["created_at"]),
    )


def normalize_address(value: str | None, field: str = "email_address") -> str:
    """A syntactically valid address with its domain lower-cased; no DNS lookups (works offline)."""
    if value is None or not value.strip():
        raise InvalidInput(f"{field} is required.", field=field)
    try:
        checked = validate_email(value.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidInput(f"{field} is not a valid email address: {exc}", field=field) from None
    return str(checked.normalized)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def list_addresses(conn: AsyncConnection, principal: Principal, params: ListQuery) -> Page:
    require(principal, PERMISSION)
    return await store.list_addresses(conn, principal.account.id, params)


async def get_address(
    conn: AsyncConnection, principal: Principal, address_id: int
) -> SenderAddress:
    """An address of the caller's account; another account's id is indistinguishable from none."""
    return address_from_row(await _owned_row(conn, principal, address_id))


async def _owned_row(
    conn: AsyncConnection, principal: Principal, address_id: int
) -> Mapping[Any, Any]:
    require(principal, PERMISSION)
    row = await store.get_address(conn, principal.account.id, address_id)
    if row is None:
        raise NotFound(f"Email address #{address_id} not found.")
    return row


async def create_address(
    conn: AsyncConnection, principal: Principal, email: str | None
) -> SenderAddress:
    """Add an unverified address; ClickSend's spec sends no verification on creation."""
    require(principal, PERMISSION)
    address = normalize_address(email)
    duplicate = Conflict(
        f"The email address '{address}' already exists in this account.", field="email_address"
    )
    if await store.find_address(conn, principal.account.id, address) is not None:
        raise duplicate
    try:
        # The unique index on (account_id, lower(email)) settles concurrent creates.
        async with conn.begin_nested():
            row = await store.insert_address(
                conn,
                {
                    "account_id": principal.account.id,
                    "user_id": principal.user.id,
                    "email": address,
                    "verified": False,
                    "token_hash": None,
                    "created_at": now(),
                },
            )
    except IntegrityError:
        raise duplicate from None
    return address_from_row(row)


async def delete_address(conn: AsyncConnection, principal: Principal, address_id: int) -> None:
    require(principal, PERMISSION)
    if not await store.delete_address(conn, principal.account.id, address_id):
        raise NotFound(f"Email address #{address_id} not found.")


async def send_verification(
    conn: AsyncConnection,
    principal: Principal,
    address_id: int,
    *,
    settings: Settings,
    mail: SystemMail,
    limiter: RateLimiter,
) -> str:
    """Mail a fresh activation token to the address; returns the verification email's id.

    Each call replaces the previous token, so only the latest email verifies. `mail`
    refuses an account that may not send and applies the account's hourly cap on system
    mail; here, past `system_mail_per_address_per_hour` emails to this address from
    this account, RateLimited. That count comes after `mail.send`, so an account that is
    refused gets its refusal, not a 429; raising rolls the caller's transaction back,
    token and queued email with it.
    """
    address = await get_address(conn, principal, address_id)
    if address.verified:
        raise InvalidInput(f"Email address #{address_id} is already verified.")
    token = secrets.token_urlsafe(24)
    await store.update_address(
        conn,
        principal.account.id,
        address.id,
        {"token_hash": hash_token(token), "token_issued_at": now()},
    )
    subject, html_body, text_body = verification_email(address, token, settings.public_base())
    message_id = await mail.send(
        conn,
        account_id=principal.account.id,
        user_id=principal.user.id,
        to=address.email,
        subject=subject,
        html=html_body,
        text=text_body,
    )
    await hit(
        limiter,
        f"{settings.system_mail_per_address_per_hour}/hour",
        ("sender-verification", str(principal.account.id), address.email.lower()),
        "Too many verification emails sent to this address - please try again later",
    )
    return message_id


async def verify(
    conn: AsyncConnection,
    principal: Principal,
    address_id: int,
    token: str,
    *,
    settings: Settings,
    at: int | None = None,
) -> SenderAddress:
    """Mark the address verified if `token` is its latest activation token and was
    mailed less than `email_address_token_ttl` seconds before `at` (now).

    A wrong or expired token changes nothing (a verified address stays verified); the
    right one may be presented again, so a retried request still succeeds.
    """
    row = await _owned_row(conn, principal, address_id)
    address = address_from_row(row)
    stored: str | None = row["token_hash"]
    # Digests of equal length: the comparison takes the same time however much matches.
    if stored is None or not hmac.compare_digest(hash_token(token), stored):
        raise InvalidInput("The activation token is not valid.", field="activation_token")
    if address.verified:
        return address
    issued: int | None = row["token_issued_at"]
    moment = now() if at is None else at
    if issued is None or moment >= issued + settings.email_address_token_ttl:
        raise InvalidInput(
            "The activation token has expired; request a new verification email.",
            field="activation_token",
        )
    updated = await store.update_address(conn, principal.account.id, address.id, {"verified": True})
    assert updated is not None  # read in this transaction
    return address_from_row(updated)


def verification_email(address: SenderAddress, token: str, public_url: str) -> tuple[str, str, str]:
    """Subject, HTML and plain text of the email that carries the activation token."""
    url = f"{public_url.rstrip('/')}/v3/email/address-verify/{address.id}/verify/{token}"
    subject = "Verify your sender address"
    text = (
        f"Someone asked to send email from {address.email} through Dovecote.\n\n"
        f"Activation token: {token}\n\n"
        "To verify the address, call the API with the account's credentials:\n\n"
        f"    PUT {url}\n\n"
        "If you did not ask for this, ignore this email: the address stays unverified.\n"
    )
    shown = html.escape(address.email)
    body = f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{subject}</title>
</head>
<body style="margin:0;padding:0;background-color:#f4f5f7;">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" style="background-color:#f4f5f7;">
<tr><td align="center" style="padding:24px 12px;">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" style="max-width:560px;background-color:#ffffff;border-radius:8px;">
<tr><td style="padding:32px;font-family:Helvetica,Arial,sans-serif;font-size:16px;line-height:24px;color:#1f2933;">
<h1 style="margin:0 0 16px;font-size:22px;line-height:28px;">Verify your sender address</h1>
<p style="margin:0 0 16px;">Someone asked to send email from <strong>{shown}</strong> through Dovecote.</p>
<p style="margin:0 0 8px;">Activation token:</p>
<p style="margin:0 0 24px;padding:12px 16px;background-color:#f4f5f7;border-radius:6px;font-family:Menlo,Consolas,monospace;font-size:15px;word-break:break-all;">{html.escape(token)}</p>
<p style="margin:0 0 8px;">To verify the address, call the API with the account's credentials:</p>
<p style="margin:0 0 24px;font-family:Menlo,Consolas,monospace;font-size:13px;word-break:break-all;">PUT {html.escape(url)}</p>
<p style="margin:0;color:#616e7c;font-size:14px;">If you did not ask for this, ignore this email: the address stays unverified.</p>
</td></tr>
</table>
</td></tr>
</table>
</body>
</html>
"""
    return subject, body, text
