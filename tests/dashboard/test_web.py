"""The live pages' event stream ends when the change hub says changes may have been lost
(`RESYNC`: PostgreSQL's listening connection came back), so the browser reopens it and
re-reads its list."""

from __future__ import annotations

import asyncio
import re

import httpx
from fastapi import FastAPI

from conftest import OWNER, OWNER_PASSWORD
from dovecote.runtime import Runtime


async def _signed_in(app: FastAPI) -> httpx.AsyncClient:
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")
    page = await client.get("/login")
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found is not None
    signed = await client.post(
        "/login",
        data={"username": OWNER, "password": OWNER_PASSWORD, "csrf_token": found.group(1)},
    )
    assert signed.status_code == 303, signed.text
    return client


async def test_a_live_stream_ends_on_a_resync_so_the_page_re_reads(app: FastAPI) -> None:
    runtime: Runtime = app.state.runtime
    client = await _signed_in(app)
    try:
        stream = asyncio.create_task(client.get("/messages/live"))
        while not runtime.changes._listeners:  # the stream has started listening
            assert not stream.done(), (await stream).text
            await asyncio.sleep(0.01)

        runtime.changes.resync()
        response = await asyncio.wait_for(stream, 10)
    finally:
        await client.aclose()

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert ": connected" in response.text and "event: row" not in response.text
