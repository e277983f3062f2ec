"""Signed-in sessions of the dashboard: a random token in a cookie, its hash in a row.

A session is a user's password sign-in (never an API key: a key is for programs, and a
page that shows a new key once must not be reachable by whoever holds the old one). It
ends at logout, at `expires_at`, when the user is deleted (the row cascades), and when
the password changes (`password_check` no longer matches), so a stolen cookie dies with
the password. Each session carries its own CSRF token, which every form posts back.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from dovecote.accounts import service, store
from dovecote.core.models import Principal
from dovecote.storage.tables import dashboard_sessions

LIFETIME_SECONDS = 12 * 3600


@dataclass(frozen=True, slots=True)
class Session:
    token: str  # the cookie's value; only its hash is stored
    csrf_token: str
    principal: Principal


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _password_check(password_hash: str) -> str:
    return hashlib.sha256(password_hash.encode()).hexdigest()


async def sign_in(conn: AsyncConnection, username: str, password: str) -> Session:
    """A new session for a username and password; `Unauthorized` otherwise (an API key in
    the password box is refused too, see the module docstring)."""
    principal = await service.authenticate_password(conn, username, password)
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    now = int(time.time())
    # Expired sessions go as new ones come: the table never outgrows its live sessions.
    await conn.execute(dashboard_sessions.delete().where(dashboard_sessions.c.expires_at < now))
    await conn.execute(
        dashboard_sessions.insert().values(
            token_hash=_hash(token),
            user_id=principal.user.id,
            csrf_token=csrf,
            password_check=_password_check(principal.user.password_hash),
            created_at=now,
            expires_at=now + LIFETIME_SECONDS,
        )
    )
    return Session(token, csrf, principal)


async def load(conn: AsyncConnection, token: str) -> Session | None:
    """The live session of a cookie's token, its user and account read fresh (a changed
    permission applies on the next page); None if it is unknown, expired or void."""
    row = (
        (
            await conn.execute(
                sa.select(dashboard_sessions).where(dashboard_sessions.c.token_hash == _hash(token))
            )
        )
        .mappings()
        .first()
    )
    if row is None or row["expires_at"] < time.time():
        return None
    found = await store.user_and_account(conn, row["user_id"], None)
    if found is None:
        return None
    user, account = found
    if not hmac.compare_digest(row["password_check"], _password_check(user.password_hash)):
        return None
    if account.banned:
        return None
    return Session(token, row["csrf_token"], Principal(user=user, account=account))


async def sign_out(conn: AsyncConnection, token: str) -> None:
    await conn.execute(
        dashboard_sessions.delete().where(dashboard_sessions.c.token_hash == _hash(token))
    )


def csrf_valid(session: Session, sent: str | None) -> bool:
    return bool(sent) and hmac.compare_digest(session.csrf_token, sent or "")
