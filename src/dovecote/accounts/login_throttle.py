"""Failed logins, counted per client address and login name, shared by every way in.

The API's Basic/Bearer authentication and the dashboard's sign-in form count in the same
limiter namespace with the same keys, so a password guessed at through one door is
throttled at the other too (`DOVECOTE_AUTH_FAILURE_LIMIT`).

Per name, not per address alone: behind a shared NAT, one user's typos (or someone
guessing at one user) must not lock every other user of that address out. Once a name
is throttled from an address, even its right secret is refused there, so a guess that
happens to be right reveals nothing.
"""

from __future__ import annotations

import hashlib

from limits import parse
from limits.aio.strategies import RateLimiter

NAMESPACE = "auth-failures"


def username_key(username: str) -> str:
    # Hashed: limiter keys stay short and hold no name. Logins are case-insensitive.
    return "user:" + hashlib.sha256(username.lower().encode()).hexdigest()


def secret_key(secret: str) -> str:
    """The key of a caller with no username (a Bearer key, an unreadable header)."""
    return "key:" + hashlib.sha256(secret.encode()).hexdigest()


async def allowed(limiter: RateLimiter, limit: str, address: str | None, login: str) -> bool:
    """Whether `login` (a `username_key`/`secret_key`) may still try from `address`."""
    return await limiter.test(parse(limit), NAMESPACE, address or "unknown", login)


async def failed(limiter: RateLimiter, limit: str, address: str | None, login: str) -> None:
    await limiter.hit(parse(limit), NAMESPACE, address or "unknown", login)
