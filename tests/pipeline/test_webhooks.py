"""`pipeline.webhooks.post_json` against a real HTTP server on the loopback."""

from __future__ import annotations

import asyncio
import socket
import time
from typing import Any

import httpx
import pytest

from dovecote.core.errors import InvalidInput
from dovecote.pipeline.webhooks import post_json
from sms_support import dribble, webhook_peer


async def test_it_posts_json_and_returns_the_status() -> None:
    with webhook_peer() as peer:
        ok = await post_json(peer.url, {"message_id": "X", "status_code": 201})
        peer.status = 503
        unavailable = await post_json(peer.url, {"n": 2})

    assert (ok, unavailable) == (200, 503)
    assert [r["json"] for r in peer.requests] == [{"message_id": "X", "status_code": 201}, {"n": 2}]
    assert peer.requests[0]["content_type"] == "application/json"


@pytest.mark.parametrize(
    "url", ["ftp://example.com/hook", "file:///etc/passwd", "not a url", "http://", "/relative"]
)
async def test_it_refuses_urls_that_are_not_http(url: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        await post_json(url, {})

    assert raised.value.field == "url"


async def test_it_reports_a_refused_connection_as_invalid_input() -> None:
    with webhook_peer() as peer:
        closed = peer.url
    # The server is gone: nothing listens on that port any more.
    with pytest.raises(InvalidInput) as raised:
        await post_json(closed, {})

    assert "Could not POST" in raised.value.message


async def test_it_gives_up_after_the_timeout() -> None:
    with webhook_peer() as peer:
        peer.delay = 2.0
        started = time.monotonic()
        with pytest.raises(InvalidInput) as raised:
            await post_json(peer.url, {}, timeout=0.2)
        elapsed = time.monotonic() - started

    assert "did not answer within 0.2 seconds" in raised.value.message
    assert elapsed < 1.5


@pytest.mark.parametrize(
    "host", ["127.0.0.1", "localhost", "10.1.2.3", "192.168.0.10", "169.254.169.254", "[::1]"]
)
async def test_it_refuses_private_addresses_when_they_are_not_allowed(host: str) -> None:
    with webhook_peer() as peer:
        url = peer.url.replace("127.0.0.1", host)
        with pytest.raises(InvalidInput) as raised:
            await post_json(url, {"n": 1}, timeout=1.0, allow_private=False)

    assert "non-public address" in raised.value.message
    assert peer.requests == []  # refused before any connection was made


async def test_it_still_reaches_a_private_address_when_allowed() -> None:
    with webhook_peer() as peer:
        status = await post_json(peer.url, {"n": 1}, allow_private=True)

    assert status == 200


async def test_a_receiver_thatdribbles_bytes_is_cut_off_at_the_total_deadline() -> None:
    # One byte every 0.2 s never trips httpx's per-read timeout of 0.5 s; the call as a
    # whole must still end (twice the timeout).
    server = await asyncio.start_server(dribble, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    started = time.monotonic()
    try:
        with pytest.raises(InvalidInput) as raised:
            await post_json(f"http://127.0.0.1:{port}/hook", {}, timeout=0.5)
    finally:
        server.close()
    assert "did not answer within" in raised.value.message
    assert time.monotonic() - started < 3


async def test_the_request_goes_to_the_address_that_was_checked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # DNS rebinding: the first answer is public, any later one private. The POST must use
    # the checked answer, not resolve the name again.
    answers = iter(["93.184.215.14", "127.0.0.1"])

    async def resolve(*args: Any, **kwargs: Any) -> list[Any]:
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (next(answers), 0))]

    monkeypatch.setattr(asyncio.get_running_loop(), "getaddrinfo", resolve)
    seen: list[httpx.Request] = []

    def carrier(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    status = await post_json(
        "https://hooks.example.com:8443/in?x=1",
        {"n": 1},
        allow_private=False,
        transport=httpx.MockTransport(carrier),
    )

    assert status == 204
    [request] = seen
    assert (request.url.host, request.url.port, request.url.path) == ("93.184.215.14", 8443, "/in")
    assert request.headers["host"] == "hooks.example.com:8443"
    assert request.extensions["sni_hostname"] == "hooks.example.com"
