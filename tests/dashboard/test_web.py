"""The live pages' event stream ends when the change hub says changes may have been lost
(`RESYNC`: PostgreSQL's listening connection came back), so the browser reopens it and
re-reads its list."""

from __future__ import annotations

import asyncio

from fastapi import FastAPI

from dashboard_support import signed_in_client
from dovecote.runtime import Runtime


async def test_a_live_stream_ends_on_a_resync_so_the_page_re_reads(app: FastAPI) -> None:
    runtime: Runtime = app.state.runtime
    client = await signed_in_client(app)
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
