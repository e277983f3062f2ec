"""Routing through connectors to a second Dovecote running for real on a loopback port.

Dovecote A (the app under test) routes SMS to B over the `http` transport; B delivers
with its sandbox and A polls B's receipts. Failover: a dead port, or an upstream
answering 503, is skipped and B takes the messages, each exactly once.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from prometheus_client import generate_latest

from conftest import OWNER, free_port
from dovecote.pipeline import status as st
from dovecote.settings import Settings
from dovecote.storage.tables import message_connectors, messages
from routing_support import (
    PEER_KEY,
    Failing,
    Served,
    app_under_test,
    driven_worker,
    ok,
    owner_client,
    until,
    upstream_history,
    upstream_peer,
)


@pytest.fixture
def upstream(request: pytest.FixtureRequest, database_url: str, tmp_path: Path) -> Iterator[Served]:
    yield from upstream_peer(request, database_url, tmp_path)


@pytest.fixture
async def app_a(settings: Settings) -> AsyncIterator[FastAPI]:
    async with app_under_test(settings) as application:
        yield application


@pytest.fixture
async def client_a(app_a: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with owner_client(app_a) as http:
        yield http


def http_connector(name: str, url: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "transport": "http",
        "settings": {"url": url, "username": OWNER, "password": PEER_KEY, "poll": 0, **extra},
    }


async def send(client: httpx.AsyncClient, *recipients: str) -> list[str]:
    body = {"messages": [{"to": to, "body": f"hello {to}", "source": "test"} for to in recipients]}
    response = await client.post("/v3/sms/send", json=body)
    assert response.status_code == 200, response.text
    return [m["message_id"] for m in response.json()["data"]["messages"]]


async def row(app: FastAPI, message_id: str) -> dict[str, Any]:
    async with app.state.runtime.engine.connect() as conn:
        found = (
            (await conn.execute(sa.select(messages).where(messages.c.id == message_id)))
            .mappings()
            .one()
        )
        taken = (
            await conn.execute(
                sa.select(message_connectors.c.connector).where(
                    message_connectors.c.message_id == message_id
                )
            )
        ).scalar()
    return {**found, "connector": taken}


async def test_an_sms_routed_to_a_second_dovecote_is_delivered_there_and_its_receipt_comes_back(
    app_a: FastAPI, client_a: httpx.AsyncClient, upstream: Served
) -> None:
    await ok(client_a, "/dovecote/connectors", http_connector("peer", upstream.url))
    await ok(client_a, "/dovecote/routes", {"channel": "sms", "connectors": ["peer"]})
    [message_id] = await send(client_a, "+61411222333")

    async with driven_worker(app_a) as worker:
        await worker.dispatcher.run_once()
        sent = await row(app_a, message_id)
        assert sent["status"] == st.SENT and sent["connector"] == "peer"
        remote = await upstream_history(upstream)
        assert [m["message_id"] for m in remote] == [sent["transport_ref"]]
        assert remote[0]["to"] == "+61411222333" and remote[0]["body"] == "hello +61411222333"

        async def delivered() -> bool:
            return bool((await row(app_a, message_id))["status"] == st.DELIVERED)

        await until(delivered, worker)
    final = await row(app_a, message_id)
    assert final["status_code"] == "201"


async def test_a_dead_port_fails_over_to_the_next_connector_and_each_message_goes_once(
    app_a: FastAPI, client_a: httpx.AsyncClient, upstream: Served
) -> None:
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    await ok(client_a, "/dovecote/connectors", http_connector("dead", dead, timeout=2))
    await ok(client_a, "/dovecote/connectors", http_connector("peer", upstream.url))
    await ok(client_a, "/dovecote/routes", {"connectors": ["dead", "peer"]})
    recipients = [f"+6141100{n:04d}" for n in range(12)]
    ids = await send(client_a, *recipients)

    async with driven_worker(app_a) as worker:
        await worker.dispatcher.run_once()
        rows = [await row(app_a, message_id) for message_id in ids]
    assert {r["status"] for r in rows} == {st.SENT}
    assert {r["connector"] for r in rows} == {"peer"}
    remote = await upstream_history(upstream)
    assert sorted(m["to"] for m in remote) == sorted(recipients)  # each exactly once


async def test_an_upstream_answering_503_goes_down_and_is_skipped_for_its_cool_down(
    app_a: FastAPI, client_a: httpx.AsyncClient, upstream: Served
) -> None:
    failing = Failing(503)
    with Served(failing.app) as broken:
        await ok(client_a, "/dovecote/connectors", http_connector("broken", broken.url))
        await ok(client_a, "/dovecote/connectors", http_connector("peer", upstream.url))
        await ok(client_a, "/dovecote/routes", {"connectors": ["broken", "peer"]})
        async with driven_worker(app_a) as worker:
            sent: list[str] = []
            for batch in range(5):  # threshold 3: batches 4 and 5 skip `broken` at once
                sent += await send(client_a, f"+614119900{batch:02d}")
                await worker.dispatcher.run_once()
            router: Any = worker.dispatcher.transports["sms"]
            assert not router.health_of("broken").up()
            assert router.health_of("peer").up()
    assert failing.requests == 3
    shown = generate_latest(app_a.state.runtime.metrics.registry).decode()
    assert 'dovecote_connector_up{connector="broken"} 0.0' in shown
    assert 'dovecote_connector_failovers_total{connector="broken"} 3.0' in shown
    assert 'dovecote_connector_messages_total{connector="peer",outcome="sent"} 5.0' in shown
    rows = [await row(app_a, message_id) for message_id in sent]
    assert {r["connector"] for r in rows} == {"peer"}
    remote = await upstream_history(upstream)
    assert len(remote) == 5 == len({m["to"] for m in remote})


async def test_routes_by_prefix_pick_their_connector_and_unrouted_messages_keep_the_default(
    app_a: FastAPI, client_a: httpx.AsyncClient, upstream: Served
) -> None:
    await ok(client_a, "/dovecote/connectors", http_connector("peer", upstream.url))
    await ok(client_a, "/dovecote/connectors", {"name": "local", "transport": "sandbox"})
    await ok(client_a, "/dovecote/routes", {"prefix": "+61", "connectors": ["peer"]})
    await ok(client_a, "/dovecote/routes", {"prefix": "+44", "connectors": ["local"]})
    au, uk, us = await send(client_a, "+61411555666", "+447911123456", "+12025550143")

    async with driven_worker(app_a) as worker:
        await worker.dispatcher.run_once()
    assert (await row(app_a, au))["connector"] == "peer"
    assert (await row(app_a, uk))["connector"] == "local"
    unrouted = await row(app_a, us)
    assert unrouted["connector"] is None and unrouted["status"] in (st.SENT, st.DELIVERED)
    assert [m["to"] for m in await upstream_history(upstream)] == ["+61411555666"]


async def test_a_message_a_connector_took_before_a_crash_is_not_sent_again(
    app_a: FastAPI, client_a: httpx.AsyncClient, upstream: Served
) -> None:
    await ok(client_a, "/dovecote/connectors", http_connector("peer", upstream.url))
    await ok(client_a, "/dovecote/routes", {"connectors": ["peer"]})
    [message_id] = await send(client_a, "+61411777888")
    async with driven_worker(app_a) as worker:
        await worker.dispatcher.run_once()
        # The worker died before writing its outcome: the row is queued again.
        async with app_a.state.runtime.engine.begin() as conn:
            await conn.execute(
                messages.update()
                .where(messages.c.id == message_id)
                .values(status=st.QUEUED, due_at=0, lease_owner=None)
            )
        await worker.dispatcher.run_once()
    again = await row(app_a, message_id)
    assert again["status"] == st.SENT and again["connector"] == "peer"
    assert len(await upstream_history(upstream)) == 1


async def test_the_upstream_password_is_never_logged_nor_answered(
    app_a: FastAPI,
    client_a: httpx.AsyncClient,
    upstream: Served,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Everything Dovecote and its HTTP client say, down to DEBUG. (The database echo sees
    # only the sealed password: tests/pipeline/routing/test_store.py.)
    caplog.set_level(logging.INFO)
    for name in ("dovecote", "httpx", "httpcore", "uvicorn"):
        caplog.set_level(logging.DEBUG, logger=name)
    failing = Failing(503)
    answers: list[str] = []
    with Served(failing.app) as broken:
        for name, url in (("broken", broken.url), ("peer", upstream.url)):
            response = await client_a.post("/dovecote/connectors", json=http_connector(name, url))
            answers.append(response.text)
        await ok(client_a, "/dovecote/routes", {"connectors": ["broken", "peer"]})
        [message_id] = await send(client_a, "+61411000999")
        async with driven_worker(app_a) as worker:
            for _ in range(3):
                await worker.dispatcher.run_once()
        answers.append((await client_a.get("/dovecote/connectors")).text)
        answers.append((await client_a.get("/dovecote/connectors/peer")).text)
        answers.append((await client_a.get("/v3/sms/history")).text)
    assert (await row(app_a, message_id))["connector"] == "peer"
    assert "********" in answers[-2]
    assert PEER_KEY not in caplog.text
    for answer in answers:
        assert PEER_KEY not in answer
