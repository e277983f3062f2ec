"""Secrets: API keys, password hashes, signed links."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
import uuid

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# argon2id at argon2-cffi's defaults (t=3, m=64 MiB, p=4: ~170 ms a hash here) until the
# runtime applies the settings' cost (`configure_password_hashing`).
_hasher = PasswordHasher()


def configure_password_hashing(*, time_cost: int, memory_kib: int, parallelism: int = 4) -> None:
    """New hashes use this cost; existing hashes verify at the cost written in each one,
    so lowering or raising it never locks anyone out. One process, one cost: the runtime
    calls this once at start-up (`DOVECOTE_PASSWORD_HASH_*`)."""
    global _hasher
    cost = (time_cost, memory_kib, parallelism)
    if cost != (_hasher.time_cost, _hasher.memory_cost, _hasher.parallelism):
        _hasher = PasswordHasher(
            time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism
        )


def new_api_key() -> str:
    """A ClickSend-shaped key (`F3702045-EB2C-0091-C211-7728048DCAE2`): 122 random bits."""
    return str(uuid.uuid4()).upper()


def hash_api_key(key: str) -> str:
    # Keys are random, not chosen by people, so SHA-256 is enough; upper-casing
    # keeps keys case-insensitive as ClickSend's are.
    return hashlib.sha256(key.strip().upper().encode()).hexdigest()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """argon2 verification; costs ~50 ms by design, so auth tries API keys first."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def new_password() -> str:
    return secrets.token_urlsafe(18)


def sign(secret: str, payload: str, expires_at: int) -> str:
    mac = hmac.new(secret.encode(), f"{payload}|{expires_at}".encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()[:20]).decode().rstrip("=")


def verify_signature(secret: str, payload: str, expires_at: int, signature: str) -> bool:
    """Whether `signature` is ours for `payload` until `expires_at`.

    Compared as UTF-8 bytes: `hmac.compare_digest` raises TypeError on a `str` holding
    non-ASCII characters, and a link's signature comes straight from an unauthenticated
    query string (`s=%C3%A9`). Such a signature is simply wrong, like any other.
    """
    if expires_at < time.time():
        return False
    expected = sign(secret, payload, expires_at).encode()
    # `surrogatepass`: a query string can decode to anything, lone surrogates included.
    return hmac.compare_digest(expected, signature.encode("utf-8", "surrogatepass"))
