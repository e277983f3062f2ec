"""Server-side GETs of a URL an account gave us: MMS media, fax and letter documents,
contact-list imports.

Every fetch goes through the same guard as webhooks (`webhooks.check_url`, `pin`): only
http(s), private addresses refused unless `DOVECOTE_FETCH_ALLOW_PRIVATE`, the address
checked is the one connected to. Redirects are refused rather than followed (a redirect
could lead past the check), the body is capped in bytes while it streams (a huge file
never reaches memory whole), and the whole fetch has a deadline, so a server dribbling
bytes cannot hold a request or a worker. Every refusal is an `InvalidInput` naming the
caller's field, so the API answers a 400 that says why.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx

from dovecote.core.errors import InvalidInput
from dovecote.pipeline.webhooks import check_url, pin, tls

Write = Callable[[bytes], Awaitable[None] | None]


@dataclass(frozen=True, slots=True)
class Fetched:
    url: str
    content: bytes
    # The media type the server declared, lower case, parameters dropped ("" when none).
    content_type: str


@dataclass(frozen=True, slots=True)
class Received:
    size: int
    content_type: str


async def fetch(
    url: str,
    *,
    field: str,
    max_bytes: int,
    allow_private: bool,
    timeout: float = 5.0,  # noqa: ASYNC109
    transport: httpx.AsyncBaseTransport | None = None,
) -> Fetched:
    """The body of `url`, at most `max_bytes`, within `2 × timeout` seconds in all."""
    chunks: list[bytes] = []
    received = await fetch_into(
        url,
        chunks.append,
        field=field,
        max_bytes=max_bytes,
        allow_private=allow_private,
        timeout=timeout,
        deadline=timeout * 2,
        transport=transport,
    )
    return Fetched(url=url, content=b"".join(chunks), content_type=received.content_type)


async def fetch_into(
    url: str,
    write: Write,
    *,
    field: str,
    max_bytes: int,
    allow_private: bool,
    timeout: float = 5.0,  # noqa: ASYNC109
    deadline: float = 10.0,
    transport: httpx.AsyncBaseTransport | None = None,
) -> Received:
    """Stream the body of `url` into `write` chunk by chunk (for files too big to hold:
    an import writes them to disk). `timeout` bounds each network step, `deadline` the
    whole fetch."""
    target, headers, extensions = await pin(
        check_url(url, field), allow_private=allow_private, field=field
    )
    size = 0
    try:
        async with asyncio.timeout(deadline):
            async with (
                httpx.AsyncClient(timeout=timeout, verify=tls(), transport=transport) as client,
                client.stream("GET", target, headers=headers, extensions=extensions) as response,
            ):
                if response.is_redirect:
                    raise InvalidInput(
                        f"{field}: {url} redirects; give the final URL.", field=field
                    )
                if response.status_code != 200:
                    raise InvalidInput(
                        f"{field}: {url} answered HTTP {response.status_code}.", field=field
                    )
                declared = response.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > max_bytes:
                    raise _too_big(field, url, max_bytes)
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    if size > max_bytes:
                        raise _too_big(field, url, max_bytes)
                    written = write(chunk)
                    if inspect.isawaitable(written):
                        await written
                media_type = response.headers.get("content-type", "")
    except (httpx.TimeoutException, TimeoutError):
        raise InvalidInput(
            f"{field}: {url} was not fetched within {deadline:g} seconds.", field=field
        ) from None
    except httpx.HTTPError as exc:
        reason = str(exc) or type(exc).__name__
        raise InvalidInput(f"{field}: could not fetch {url}: {reason}.", field=field) from None
    return Received(size=size, content_type=media_type.split(";")[0].strip().lower())


def _too_big(field: str, url: str, max_bytes: int) -> InvalidInput:
    return InvalidInput(f"{field}: {url} is larger than {max_bytes} bytes.", field=field)
