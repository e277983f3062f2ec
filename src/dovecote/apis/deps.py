"""Dependencies shared by every API family: the database connection, the caller, limits."""

from __future__ import annotations

import base64
import binascii
import functools
import math
import time
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from limits import RateLimitItem, parse
from sqlalchemy.ext.asyncio import AsyncConnection

from dovecote.accounts import login_throttle
from dovecote.accounts import service as accounts
from dovecote.core.errors import RateLimited, Unauthorized
from dovecote.core.models import Principal
from dovecote.runtime import Runtime
from dovecote.settings import Settings


async def get_runtime(request: Request) -> Runtime:
    # async on purpose: FastAPI runs a plain `def` dependency in a worker thread, a
    # thread hop on every request just to read an attribute.
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def is_owner(principal: Principal, settings: Settings) -> bool:
    """The platform's operator: the main user of the owner account
    (`DOVECOTE_OWNER_USERNAME`). Dovecote-only administration is theirs alone."""
    owner = (settings.owner_username or "owner").lower()
    return principal.user.is_main and principal.user.username.lower() == owner


def link_base(request: Request, settings: Settings) -> str:
    """The base of a link answered to this request: the configured public URL, or the
    request's own (the caller gets back a link to where it already reached us). Never
    for mailed links: the Host header is the caller's to choose."""
    return settings.public_url or str(request.base_url)


def client_ip(request: Request) -> str | None:
    """The caller's address as the server sees it (behind a proxy: the proxy's)."""
    return request.client.host if request.client else None


async def get_conn(runtime: RuntimeDep) -> AsyncIterator[AsyncConnection]:
    """One transaction per request, committed before the response is sent."""
    async with runtime.engine.begin() as conn:
        yield conn


Conn = Annotated[AsyncConnection, Depends(get_conn, scope="function")]


class MissingCredentials(Unauthorized):
    code = "MISSING_CREDENTIALS"


def _header(request: Request) -> str:
    header = request.headers.get("authorization", "")
    if not header:
        raise MissingCredentials(
            "Not enough information has been supplied for authentication. "
            "Please ensure that your Username and Unique Key are supplied in your request."
        )
    return header


async def current_principal(request: Request, conn: Conn, runtime: RuntimeDep) -> Principal:
    header = _header(request)
    cached = runtime.credentials.get(header)
    principal = await accounts.principal_from_cache(conn, cached) if cached else None
    if principal is None:
        principal = await _verified(request, conn, runtime, header)
    return await _admit(request, runtime, principal)


async def _verified(
    request: Request, conn: AsyncConnection, runtime: Runtime, header: str
) -> Principal:
    principal = await _verify_limited(request, conn, runtime, header)
    username, secret = _credentials(header)  # parsed fine: it was just verified
    runtime.credentials.put(header, accounts.credential_to_cache(principal, secret, username))
    return principal


async def _admit(request: Request, runtime: Runtime, principal: Principal) -> Principal:
    await _rate_limit(runtime, principal)
    request.state.principal = principal
    return principal


async def detached_principal(request: Request, runtime: RuntimeDep) -> Principal:
    """The caller, authenticated in a transaction of its own that ends before the handler
    runs: for handlers that wait on the network (test webhooks), which must not hold a
    database connection meanwhile — on SQLite one slow receiver would stall every request."""
    async with runtime.engine.begin() as conn:
        return await current_principal(request, conn, runtime)


DetachedPrincipal = Annotated[Principal, Depends(detached_principal)]


async def read_principal(request: Request, runtime: RuntimeDep) -> Principal:
    """The caller, authenticated on a read connection (authentication only reads): for
    handlers that write through the group commit (`runtime.writer`), which must not hold
    the writer's connection while they wait for their turn. Concurrent requests with one
    header share the reload of a cached caller (`CredentialCache.reloads`)."""
    header = _header(request)
    cached = runtime.credentials.get(header)
    if cached is not None:

        async def reload() -> Principal | None:
            async with runtime.reader.connect() as conn:
                return await accounts.principal_from_cache(conn, cached)

        principal = await runtime.credentials.reloads.read(header, reload)
        if principal is not None:
            return await _admit(request, runtime, principal)
    async with runtime.reader.connect() as conn:
        principal = await _verified(request, conn, runtime, header)
    return await _admit(request, runtime, principal)


ReadPrincipal = Annotated[Principal, Depends(read_principal)]


async def _verify_limited(
    request: Request, conn: AsyncConnection, runtime: Runtime, header: str
) -> Principal:
    """Verify credentials; failures are counted (`accounts.login_throttle`, shared with the
    dashboard's sign-in), so guessing a password or key at full speed earns a 429."""
    limit = runtime.settings.auth_failure_limit
    address, login = client_ip(request), _login_name(header)
    if not await login_throttle.allowed(runtime.limiter, limit, address, login):
        raise RateLimited("Too many failed logins; try again later.", retry_after=60)
    try:
        return await _verify(conn, header)
    except Unauthorized:
        await login_throttle.failed(runtime.limiter, limit, address, login)
        raise


def _login_name(header: str) -> str:
    """Whom a header claims to be, for counting failures: the Basic username, else the
    Bearer key or the unreadable header."""
    try:
        username, secret = _credentials(header)
    except Unauthorized:
        username, secret = None, header
    if username is not None:
        return login_throttle.username_key(username)
    return login_throttle.secret_key(secret)


def _credentials(header: str) -> tuple[str | None, str]:
    """(username, secret) of a Basic header, (None, key) of a Bearer one."""
    scheme, _, value = header.partition(" ")
    value = value.strip()
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(value, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise Unauthorized("Malformed Basic authorization header.") from None
        username, sep, secret = decoded.partition(":")
        if not sep or not username or not secret:
            raise Unauthorized("Malformed Basic authorization header.")
        return username, secret
    if scheme.lower() == "bearer" and value:
        return None, value
    raise Unauthorized("Unsupported authorization scheme; use Basic or Bearer.")


async def _verify(conn: AsyncConnection, header: str) -> Principal:
    username, secret = _credentials(header)
    if username is None:
        return await accounts.authenticate_bearer(conn, secret)
    return await accounts.authenticate_basic(conn, username, secret)


@functools.cache
def _limit(text: str) -> RateLimitItem:
    return parse(text)  # a regular expression per request otherwise: ~1 % of a send


async def _rate_limit(runtime: RuntimeDep, principal: Principal) -> None:
    item = _limit(runtime.settings.rate_limit)
    key = str(principal.account.id)
    if not await runtime.limiter.hit(item, "account", key):
        stats = await runtime.limiter.get_window_stats(item, "account", key)
        retry_after = max(1, math.ceil(stats.reset_time - time.time()))
        raise RateLimited("Rate limit exceeded; slow down.", retry_after=retry_after)


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
