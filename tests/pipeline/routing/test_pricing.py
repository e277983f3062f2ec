"""Route prices come with the cached routing table: no query per send while it is fresh
(none at all with no route prices), the admin API's change at this process's next send,
the CLI's (another process) once the refresh interval has passed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event
from typer.testing import CliRunner

from conftest import OWNER, OWNER_KEY
from dovecote.app import create_app
from dovecote.cli import app as cli
from dovecote.pipeline.routing import pricing
from dovecote.settings import Settings

REFRESH = 0.5


@dataclass
class Item:
    channel: str = "sms"
    recipient: str = "+61411000001"
    sender: str = ""
    parts: int = 1
    price_micros: int = 77_000
    is_test: bool = False
    ok: bool = True


async def tuned_app(settings: Settings, refresh: float) -> AsyncIterator[FastAPI]:
    application = create_app(settings.model_copy(update={"routing_refresh_seconds": refresh}))
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def cached(settings: Settings) -> AsyncIterator[FastAPI]:
    async for application in tuned_app(settings, 3600.0):
        yield application


@pytest.fixture
async def refreshed(settings: Settings) -> AsyncIterator[FastAPI]:
    async for application in tuned_app(settings, REFRESH):
        yield application


def client_of(app: FastAPI) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app)
    return httpx.AsyncClient(
        transport=transport, base_url="http://testserver", auth=(OWNER, OWNER_KEY)
    )


async def test_with_no_route_price_a_send_is_priced_without_a_query(cached: FastAPI) -> None:
    engine = cached.state.runtime.engine
    async with engine.begin() as conn:
        await pricing.reprice(conn, 1, "USD", [Item()])  # the first read loads the table
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(str(args[2]))

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        item = Item()
        async with engine.begin() as conn:
            await pricing.reprice(conn, 1, "USD", [item])
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count)

    assert statements == []
    assert item.price_micros == 77_000


async def test_a_route_price_applies_after_the_refresh_from_the_cli_and_at_once_from_the_api(
    refreshed: FastAPI, settings: Settings
) -> None:
    async with client_of(refreshed) as client:

        async def price(to: str) -> float:
            sent = await client.post("/v3/sms/send", json={"messages": [{"to": to, "body": "hi"}]})
            assert sent.status_code == 200, sent.text
            return float(sent.json()["data"]["messages"][0]["message_price"])

        await client.post("/dovecote/connectors", json={"name": "cheap", "transport": "sandbox"})
        await client.post("/dovecote/routes", json={"connectors": ["cheap"], "channel": "sms"})
        book = await price("+61411000001")

        # The CLI is another process: its engine is not this app's.
        result = await asyncio.to_thread(
            CliRunner().invoke,
            cli,
            ["connectors", "price", "cheap", "sms", "+61", "0.0123"],
            env={"DOVECOTE_DATABASE_URL": settings.database_url},
        )
        assert result.exit_code == 0, result.output
        await asyncio.sleep(REFRESH * 1.5)  # the refresh interval is the contract here
        assert await price("+61411000002") == 0.0123 != book

        answer = await client.post(
            "/dovecote/connectors/cheap/prices",
            json={"channel": "sms", "prefix": "+614", "price": "0.0077"},
        )
        assert answer.status_code == 200, answer.text
        assert await price("+61411000003") == 0.0077  # this process's write: no waiting
