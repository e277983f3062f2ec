"""Forgotten usernames and passwords, without revealing who has an account.

Every request gets the same answer whether or not an account matches: the work that
differs (a token stored, an email queued) happens in the request's transaction and
leaves nothing the caller can see. Emails to one address are capped per hour by the
`allow` predicate the caller passes (silently: a refusal would answer differently).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncConnection

from dovecote.accounts import letters, store, tokens
from dovecote.accounts import lifecycle_store as lifecycle
from dovecote.accounts.letters import AccountMail
from dovecote.accounts.service import NO_PASSWORD, validate_username
from dovecote.accounts.signup import check_email, check_password, check_phone
from dovecote.core import security
from dovecote.core.errors import InvalidInput
from dovecote.core.models import User

Allow = Callable[[str], Awaitable[bool]]

INVALID_TOKEN = "The reset token is not valid or has expired."  # noqa: S105 - a message


async def forgot_username(
    conn: AsyncConnection,
    *,
    email: str | None,
    phone: str | None,
    country: str | None,
    mail: AccountMail,
    allow: Allow,
) -> None:
    """Mail each address that matches the list of its usernames."""
    if email:
        found = await lifecycle.users_by_contact(
            conn, email=check_email(email, "email"), phone=None
        )
    elif phone:
        number = check_phone(phone, (country or "US").strip().upper(), "phone_number")
        found = await lifecycle.users_by_contact(conn, email=None, phone=number)
    else:
        raise InvalidInput("Give email or phone_number.", field="email")
    by_address: dict[str, list[str]] = {}
    first_user: dict[str, User] = {}
    for user in found:
        if user.email:
            by_address.setdefault(user.email.lower(), []).append(user.username)
            first_user.setdefault(user.email.lower(), user)
    for address, usernames in by_address.items():
        if await allow(address):
            user = first_user[address]
            await mail(conn, user, letters.username_reminder(user.email, usernames))


async def forgot_password(
    conn: AsyncConnection, username: str, *, mail: AccountMail, allow: Allow, ttl: int, now: int
) -> None:
    """Mail a reset token to the user's address; nothing for an unknown user, a user
    without an address, or one that logs in by API key only."""
    name = validate_username(username, "username")
    user = await store.get_user_by_username(conn, name)
    if user is None or not user.email or user.password_hash == NO_PASSWORD:
        tokens.hash_token(tokens.new_token())  # the token work a real request does
        return
    if not await allow(user.email.lower()):
        return
    token = await tokens.issue(conn, user.id, tokens.PASSWORD, ttl=ttl, now=now)
    await mail(conn, user, letters.password_reset(user, token, ttl))


async def reset_password(
    conn: AsyncConnection, user_id: int, token: str, password: str, *, now: int
) -> None:
    """Set a new password with a live reset token of `user_id`; the token is used up."""
    check_password(password)
    if await tokens.use(conn, tokens.PASSWORD, token, now=now, user_id=user_id) is None:
        raise InvalidInput(INVALID_TOKEN, field="activation_token")
    await store.update_user(conn, user_id, {"password_hash": security.hash_password(password)})
