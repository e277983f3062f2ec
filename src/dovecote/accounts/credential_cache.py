"""Remembers, briefly, which user an Authorization header proved to be.

Verifying a password costs ~50 ms of argon2 by design, and even an API key costs three
queries; a busy client sends the same header thousands of times a minute. A hit still
loads the user and account fresh (one query) and re-checks that the key still exists or
the password hash is unchanged, so rotating a key or a password takes effect at once.
Only a SHA-256 of the header is kept, never the secret.

An entry names its user by id, and ids are data that could come back (SQLite reused a
deleted row's id until migration 0007), so it also holds what cannot come back: the
account id, the SHA-256 of the key or the salted password hash, and the Basic username.
A hit re-checks them all; a row that merely has the same id never matches.

Concurrent requests with one header share one reload (`reloads`): a client sending single
messages in parallel with one key made one identical read per request, ~20 % of a
single send's CPU in the profile. A request joining a reload in flight is answered with rows read at
most that read's time (about a millisecond) before it arrived.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from dovecote.core.models import Principal

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class CachedCredential:
    user_id: int
    account_id: int
    api_key_id: int | None
    key_hash: str | None  # of the key that logged in; None for a password login
    password_hash: str
    username: str | None  # Basic auth names the user: a rename must invalidate the entry


class CredentialCache:
    def __init__(self, ttl: float, max_entries: int = 10_000) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._entries: OrderedDict[bytes, tuple[float, CachedCredential]] = OrderedDict()
        # Reloads of a cached caller in flight, by header (apis/deps.py read_principal).
        self.reloads: SharedReads[Principal | None] = SharedReads()

    @staticmethod
    def _key(header: str) -> bytes:
        return hashlib.sha256(header.encode()).digest()

    def get(self, header: str) -> CachedCredential | None:
        if self.ttl <= 0:
            return None
        key = self._key(header)
        entry = self._entries.get(key)
        if entry is None:
            return None
        expires, credential = entry
        if expires < time.monotonic():
            del self._entries[key]
            return None
        return credential

    def put(self, header: str, credential: CachedCredential) -> None:
        if self.ttl <= 0:
            return
        self._entries[self._key(header)] = (time.monotonic() + self.ttl, credential)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)


class SharedReads(Generic[T]):
    """Concurrent `read(key, load)` calls with one key share one run of `load`."""

    def __init__(self) -> None:
        self._flights: dict[str, asyncio.Future[T]] = {}

    async def read(self, key: str, load: Callable[[], Awaitable[T]]) -> T:
        flight = self._flights.get(key)
        if flight is None:
            flight = asyncio.ensure_future(self._run(key, load))
            self._flights[key] = flight
        # Shielded: one caller going away (a client disconnect) must not cancel the read
        # the others wait on.
        return await asyncio.shield(flight)

    async def _run(self, key: str, load: Callable[[], Awaitable[T]]) -> T:
        try:
            return await load()
        finally:
            del self._flights[key]
