from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest

from dovecote.core.errors import InvalidInput
from dovecote.pipeline.fetch import fetch, fetch_into
from fetch_support import Served, file_server
from sms_support import dribble


async def test_it_fetches_the_body_and_its_media_type() -> None:
    with file_server() as server:
        url = server.serve("/cat.png", b"\x89PNG...", "image/PNG; charset=binary")
        fetched = await fetch(url, field="media_file", max_bytes=100, allow_private=True)
    assert fetched.content == b"\x89PNG..."
    assert fetched.content_type == "image/png"


async def test_a_body_over_the_cap_is_refused_while_it_streams(tmp_path: Path) -> None:
    with file_server() as server:
        url = server.serve("/big.csv", b"x" * 100_000)
        with pytest.raises(InvalidInput, match="larger than 1000 bytes") as caught:
            await fetch(url, field="file_url", max_bytes=1000, allow_private=True)
    assert caught.value.field == "file_url"


async def test_redirects_and_errors_are_refused_not_followed() -> None:
    with file_server() as server:
        server.files["/moved"] = Served(b"", status=302, headers={"location": "/x"})
        server.serve("/x", b"secret")
        with pytest.raises(InvalidInput, match="redirects"):
            await fetch(server.url("/moved"), field="f", max_bytes=10, allow_private=True)
        with pytest.raises(InvalidInput, match="HTTP 404"):
            await fetch(server.url("/missing"), field="f", max_bytes=10, allow_private=True)
        assert server.hits == ["/moved", "/missing"]  # the redirect was not followed


async def test_private_addresses_are_refused_unless_allowed() -> None:
    with file_server() as server:
        url = server.serve("/a", b"a")
        with pytest.raises(InvalidInput, match="non-public address"):
            await fetch(url, field="media_file", max_bytes=10, allow_private=False)
        assert server.hits == []


async def test_a_server_that_dribbles_bytes_is_cut_at_the_deadline() -> None:
    server = await asyncio.start_server(dribble, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        with pytest.raises(InvalidInput, match="not fetched within"):
            await fetch_into(
                f"http://127.0.0.1:{port}/slow",
                lambda chunk: None,
                field="f",
                max_bytes=10_000,
                allow_private=True,
                timeout=1.0,
                deadline=0.5,
            )
    finally:
        server.close()


async def test_chunks_stream_into_the_writer() -> None:
    received: list[bytes] = []

    async def write(chunk: bytes) -> None:
        received.append(chunk)

    with file_server() as server:
        url = server.serve("/rows.csv", b"a,b\n" * 50_000, "text/csv")
        result = await fetch_into(url, write, field="f", max_bytes=10**6, allow_private=True)
    assert result.size == 200_000
    assert b"".join(received) == b"a,b\n" * 50_000


async def test_an_unreachable_server_is_invalid_input() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(InvalidInput, match="could not fetch"):
        await fetch(f"http://127.0.0.1:{port}/", field="f", max_bytes=10, allow_private=True)
