"""Pushed receipts of an http connector: a second Dovecote (the upstream) has a receipt
rule whose URL is this Dovecote's callback, and its receipts settle our messages.

Dovecote A runs as the test drives it (its worker pass by pass) plus one API process
served on a loopback port (the one the upstream POSTs to), both on A's database: the
API queues the receipt, A's worker applies it, as with N API processes and M workers.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI

from conftest import OWNER
from dovecote.app import create_app
from dovecote.core.sealing import Sealer
from dovecote.pipeline import status as st
from dovecote.pipeline.transports.http import receipts
from dovecote.settings import Settings
from dovecote.storage.tables import connectors, events, messages, provider_receipts
from routing_support import (
    PEER_KEY,
    Served,
    app_under_test,
    driven_worker,
    ok,
    owner_client,
    until,
    upstream_peer,
)

TOKEN = "rcpt-5D1E0A7C9B3F42E8"  # the connector's receipt token


@pytest.fixture
def upstream(request: pytest.FixtureRequest, database_url: str, tmp_path: Path) -> Iterator[Served]:
    # It POSTs its receipt webhooks to us on loopback.
    yield from upstream_peer(request, database_url, tmp_path, fetch_allow_private=True)


@pytest.fixture
async def app_a(settings: Settings) -> AsyncIterator[FastAPI]:
    async with app_under_test(settings) as application:
        yield application


@pytest.fixture
def api_a(app_a: FastAPI, settings: Settings) -> Iterator[Served]:
    """A's API as a process the upstream can reach (no worker: the test drives one)."""
    with Served(create_app(settings)) as served:
        yield served


@pytest.fixture
async def client_a(app_a: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with owner_client(app_a) as http:
        yield http


def pushed_connector(url: str, **extra: Any) -> dict[str, Any]:
    settings = {"url": url, "username": OWNER, "password": PEER_KEY, "receipts": "push"}
    return {
        "name": "peer",
        "transport": "http",
        "settings": {**settings, "receipt_token": TOKEN, **extra},
    }


async def receipt_rule(upstream: Served, url: str, webhook_type: str | None = None) -> None:
    body: dict[str, Any] = {
        "rule_name": "to the downstream Dovecote",
        "match_type": 0,
        "action": "URL",
        "action_address": url,
        "enabled": 1,
    }
    if webhook_type:
        body["webhook_type"] = webhook_type
    async with httpx.AsyncClient(base_url=upstream.url, auth=(OWNER, PEER_KEY)) as http:
        await ok(http, "/v3/automations/sms/receipts", body)


async def send(client: httpx.AsyncClient, to: str) -> str:
    data = await ok(client, "/v3/sms/send", {"messages": [{"to": to, "body": "hi", "source": "t"}]})
    return str(data["messages"][0]["message_id"])


async def stored(app: FastAPI, message_id: str) -> dict[str, Any]:
    async with app.state.runtime.engine.connect() as conn:
        query = sa.select(messages).where(messages.c.id == message_id)
        return dict((await conn.execute(query)).mappings().one())


async def event_types(app: FastAPI, message_id: str) -> list[str]:
    async with app.state.runtime.engine.connect() as conn:
        query = sa.select(events.c.type).where(events.c.message_id == message_id)
        return [str(t) for t in (await conn.execute(query.order_by(events.c.id))).scalars()]


async def queued(app: FastAPI) -> list[dict[str, Any]]:
    async with app.state.runtime.engine.connect() as conn:
        rows = await conn.execute(sa.select(provider_receipts).order_by(provider_receipts.c.id))
        return [dict(r) for r in rows.mappings()]


@pytest.mark.parametrize("webhook_type", [None, "json"])
async def test_the_upstreams_receipt_rule_pushes_the_receipt_that_settles_our_message(
    app_a: FastAPI,
    api_a: Served,
    client_a: httpx.AsyncClient,
    upstream: Served,
    webhook_type: str | None,
) -> None:
    # poll=3600: a receipt within the test can only have been pushed.
    await ok(client_a, "/dovecote/connectors", pushed_connector(upstream.url, poll=3600))
    await ok(client_a, "/dovecote/routes", {"channel": "sms", "connectors": ["peer"]})
    await receipt_rule(
        upstream, f"{api_a.url}/dovecote/providers/peer/receipts/{TOKEN}", webhook_type
    )
    message_id = await send(client_a, "+61411222333")

    async with driven_worker(app_a) as worker:
        await worker.dispatcher.run_once()
        sent = await stored(app_a, message_id)
        assert sent["status"] == st.SENT and sent["transport_ref"]
        pushed = worker.dispatcher.pushed()

        async def delivered() -> bool:
            await receipts.apply_pending(pushed)
            return bool((await stored(app_a, message_id))["status"] == st.DELIVERED)

        await until(delivered)
    final = await stored(app_a, message_id)
    assert final["status_code"] == "201"
    assert await queued(app_a) == []  # applied, then dropped from the queue


async def test_a_duplicate_receipt_changes_nothing_and_an_unknown_id_is_kept_aside(
    app_a: FastAPI,
    client_a: httpx.AsyncClient,
    upstream: Served,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await ok(client_a, "/dovecote/connectors", pushed_connector(upstream.url, poll=3600))
    await ok(client_a, "/dovecote/routes", {"channel": "sms", "connectors": ["peer"]})
    message_id = await send(client_a, "+61411222444")
    path = f"/dovecote/providers/peer/receipts/{TOKEN}"
    async with driven_worker(app_a) as worker:
        await worker.dispatcher.run_once()
        ref = (await stored(app_a, message_id))["transport_ref"]
        pushed = worker.dispatcher.pushed()
        failed = {"message_id": ref, "status_code": "300", "error_text": "Handset off"}
        delivered = {"message_id": ref, "status_code": "201"}
        for body in (failed, delivered):  # form-encoded, as ClickSend posts them
            response = await client_a.post(path, data=body)
            assert response.status_code == 200, response.text
        unknown = await client_a.post(path, json={"message_id": "no-such", "status_code": 201})
        assert unknown.status_code == 200  # see receipts.py: a 404 would pause the rule
        assert await receipts.apply_pending(pushed) == 1
        with caplog.at_level(logging.WARNING, logger="dovecote.http_transport"):
            assert await receipts.apply_pending(pushed, hold=0) == 0
    final = await stored(app_a, message_id)
    assert final["status"] == st.FAILED and final["error_text"] == "Handset off"
    assert (await event_types(app_a, message_id)).count("receipt") == 1
    [left] = await queued(app_a)
    assert left["upstream_id"] == "no-such" and left["state"] == receipts.UNMATCHED
    assert "no-such" in caplog.text


async def test_a_receipt_with_a_wrong_token_or_for_a_polling_connector_is_refused(
    app_a: FastAPI, client_a: httpx.AsyncClient, upstream: Served
) -> None:
    await ok(client_a, "/dovecote/connectors", pushed_connector(upstream.url))
    polling = pushed_connector(upstream.url, receipts="poll")
    await ok(client_a, "/dovecote/connectors", {**polling, "name": "polled"})
    body = {"message_id": "x", "status_code": "201"}
    for path in (
        "/dovecote/providers/peer/receipts/not-the-token-at-all",
        f"/dovecote/providers/polled/receipts/{TOKEN}",
        f"/dovecote/providers/nobody/receipts/{TOKEN}",
    ):
        response = await client_a.post(path, data=body)
        assert response.status_code == 404, path
    bad = await client_a.post(f"/dovecote/providers/peer/receipts/{TOKEN}", data={"x": "1"})
    assert bad.status_code == 400 and "message_id" in bad.text
    not_json = await client_a.post(
        f"/dovecote/providers/peer/receipts/{TOKEN}",
        content=b"[1]",
        headers={"content-type": "application/json"},
    )
    assert not_json.status_code == 400
    assert await queued(app_a) == []


async def test_push_mode_needs_a_long_enough_receipt_token(
    client_a: httpx.AsyncClient, upstream: Served
) -> None:
    short = pushed_connector(upstream.url, receipt_token="short")
    response = await client_a.post("/dovecote/connectors", json=short)
    assert response.status_code == 400 and "receipt_token" in response.text
    # The prefix of a sealed value does not excuse a short typed token.
    prefixed = pushed_connector(upstream.url, receipt_token="enc:short")
    response = await client_a.post("/dovecote/connectors", json=prefixed)
    assert response.status_code == 400 and "receipt_token" in response.text
    odd = pushed_connector(upstream.url, receipts="carrier-pigeon")
    assert (await client_a.post("/dovecote/connectors", json=odd)).status_code == 400


async def test_a_token_sealed_under_a_lost_key_is_a_404_not_a_500(
    app_a: FastAPI, client_a: httpx.AsyncClient, upstream: Served
) -> None:
    await ok(client_a, "/dovecote/connectors", pushed_connector(upstream.url))
    lost = Sealer("a key nobody has any more").seal(TOKEN)
    async with app_a.state.runtime.engine.begin() as conn:
        query = sa.select(connectors.c.settings).where(connectors.c.name == "peer")
        current = (await conn.execute(query)).scalar_one()
        stored_settings = dict(current if isinstance(current, dict) else json.loads(current))
        await conn.execute(
            connectors.update()
            .where(connectors.c.name == "peer")
            .values(settings={**stored_settings, "receipt_token": lost})
        )
    response = await client_a.post(
        f"/dovecote/providers/peer/receipts/{TOKEN}", data={"message_id": "x", "status_code": "201"}
    )
    assert response.status_code == 404
    assert await queued(app_a) == []
