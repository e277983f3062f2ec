"""Single-use, expiring account tokens (activation, password reset), stored as SHA-256.

A token is 192 random bits, so one fast hash is enough against guessing, and a leaked
database holds nothing that activates an account or resets a password.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Final

from sqlalchemy.ext.asyncio import AsyncConnection

from dovecote.accounts import lifecycle_store as store

ACTIVATION: Final = "activation"
PASSWORD: Final = "password"  # noqa: S105 - a token purpose, not a secret
MAX_TOKEN_LENGTH: Final = 200


def new_token() -> str:
    return secrets.token_urlsafe(24)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def issue(conn: AsyncConnection, user_id: int, purpose: str, *, ttl: int, now: int) -> str:
    """A fresh token for `user_id`, replacing any unused one of the same purpose."""
    token = new_token()
    await store.replace_token(conn, user_id, purpose, hash_token(token), now, ttl)
    return token


async def use(
    conn: AsyncConnection, purpose: str, token: str, *, now: int, user_id: int | None = None
) -> int | None:
    """The user a live token belongs to, marking it used; None for anything else."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    return await store.use_token(conn, purpose, hash_token(token), now, user_id)
