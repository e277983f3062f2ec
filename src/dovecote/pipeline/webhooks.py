"""Outbound webhooks: POST a JSON document to a customer's URL."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
from functools import cache
from typing import Any

import httpx

from dovecote.core.errors import InvalidInput


@cache
def _tls() -> ssl.SSLContext:
    # Loading the CA bundle costs tens of milliseconds; do it once, not per webhook.
    return httpx.create_ssl_context()


def check_url(url: str, field: str = "url") -> httpx.URL:
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError):
        raise InvalidInput(f"{field} is not a valid URL.", field=field) from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise InvalidInput(f"{field} must be an http:// or https:// URL.", field=field)
    return parsed


async def check_public(target: httpx.URL, field: str = "url") -> str:
    """Resolve the host and refuse loopback, private, link-local or reserved addresses;
    returns the address checked, which the caller must then connect to.

    Without this a caller could make the server fetch inside its own network (SSRF). The
    sandbox allows private addresses by default (`DOVECOTE_FETCH_ALLOW_PRIVATE`), since
    local test servers live there. Connecting to the checked address, instead of letting
    the HTTP client resolve the name again, closes DNS rebinding: a name that answers a
    public address to the check and a private one to the request.
    """
    host = target.host
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except OSError:
        raise InvalidInput(f"{field}: the host {host!r} cannot be resolved.", field=field) from None
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
    for address in addresses:
        if not address.is_global:
            raise InvalidInput(
                f"{field} points to a non-public address ({address}); refused.", field=field
            )
    if not addresses:
        raise InvalidInput(f"{field}: the host {host!r} cannot be resolved.", field=field)
    return str(addresses[0])


async def pin(
    target: httpx.URL, *, allow_private: bool, field: str = "url"
) -> tuple[httpx.URL, dict[str, str], dict[str, Any]]:
    """The URL to connect to, the headers and the httpx extensions for `target`.

    Unless private addresses are allowed, the request goes to the address `check_public`
    checked; the Host header and TLS (SNI and the certificate's name) still use the URL's
    host name.
    """
    headers: dict[str, str] = {}
    extensions: dict[str, Any] = {}
    if not allow_private:
        pinned = await check_public(target, field)
        headers["Host"] = target.netloc.decode("ascii")
        extensions["sni_hostname"] = target.host
        target = target.copy_with(host=pinned)
    return target, headers, extensions


def tls() -> ssl.SSLContext:
    return _tls()


# httpx's own timeout (per connect/read/write), not a deadline for the whole call.
async def post_json(
    url: str,
    payload: dict[str, Any],
    *,
    timeout: float = 5.0,  # noqa: ASYNC109
    allow_private: bool = True,
    transport: httpx.AsyncBaseTransport | None = None,
) -> int:
    """POST `payload` as JSON and return the HTTP status; redirects are not followed.

    Raises InvalidInput (naming `url`) when the URL is not http(s), points to a non-public
    address while `allow_private` is off, or cannot be reached within `timeout` seconds,
    so an API caller gets a 400 that says why. `transport` is httpx's, for tests.
    """
    target, headers, extensions = await pin(check_url(url), allow_private=allow_private)
    try:
        # httpx's timeout bounds each read, not the call: a receiver that dribbles a
        # byte every few seconds would hold it forever. The outer deadline bounds it all.
        async with asyncio.timeout(timeout * 2):
            async with httpx.AsyncClient(
                timeout=timeout, verify=_tls(), transport=transport
            ) as client:
                response = await client.post(
                    target, json=payload, headers=headers, extensions=extensions
                )
    except (httpx.TimeoutException, TimeoutError):
        raise InvalidInput(
            f"{url} did not answer within {timeout:g} seconds.", field="url"
        ) from None
    except httpx.HTTPError as exc:
        reason = str(exc) or type(exc).__name__
        raise InvalidInput(f"Could not POST to {url}: {reason}.", field="url") from None
    return response.status_code
