"""`/metrics`: Prometheus text for the operator's token only, with what the issue asks."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families

from conftest import OWNER, OWNER_KEY
from dispatch_support import dispatcher
from dovecote import wiring
from dovecote.app import create_app
from dovecote.pipeline.routing.health import Board
from dovecote.settings import Settings

TOKEN = "scrape-me-0123456789"


@pytest.fixture
async def metered(settings: Settings) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    application = create_app(settings.model_copy(update={"metrics_token": TOKEN}))
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://testserver", auth=(OWNER, OWNER_KEY)
        ) as http:
            yield application, http


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def scrape(http: httpx.AsyncClient) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    # A client of its own: the test client's Basic auth would replace the Bearer header.
    transport = http._transport
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as scraper:
        response = await scraper.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return samples(response.text)


async def test_metrics_count_requests_messages_outcomes_and_the_queue(
    metered: tuple[FastAPI, httpx.AsyncClient], settings: Settings
) -> None:
    application, http = metered
    sent = await http.post(
        "/v3/sms/send",
        json={
            "messages": [{"to": "+12025550161", "body": "a"}, {"to": "+12025550162", "body": "b"}]
        },
    )
    assert sent.status_code == 200
    waiting = await scrape(http)
    # Through the worker's own dispatcher, which shares the app's metrics.
    runtime = application.state.runtime
    worker = wiring.build_worker(runtime)
    assert await worker.dispatcher.run_once() == 2
    after = await scrape(http)

    assert waiting[("dovecote_messages_accepted_total", frozenset({("channel", "sms")}))] == 2
    route = frozenset({("method", "POST"), ("route", "/v3/sms/send"), ("status", "200")})
    assert waiting[("dovecote_request_seconds_count", route)] == 1
    depth = frozenset({("channel", "sms"), ("status", "queued")})
    assert waiting[("dovecote_queue_depth", depth)] == 2
    assert waiting[("dovecote_queue_oldest_due_seconds", frozenset())] >= 0
    sent_outcomes = frozenset({("channel", "sms"), ("outcome", "sent")})
    assert after[("dovecote_messages_outcomes_total", sent_outcomes)] == 2
    assert after[("dovecote_dispatch_batch_size_count", frozenset())] == 1
    assert ("dovecote_queue_depth", depth) not in after  # handed over: none queued now
    cancel = await http.put("/v3/sms/NOPE/cancel")
    assert cancel.status_code == 404
    templated = frozenset(
        {("method", "PUT"), ("route", "/v3/sms/{message_id}/cancel"), ("status", "404")}
    )
    assert (await scrape(http))[("dovecote_request_seconds_count", templated)] == 1
    transport = frozenset({("transport", "sandbox"), ("phase", "send")})
    assert after[("dovecote_transport_seconds_count", transport)] == 1


async def test_metrics_need_the_token_and_do_not_exist_without_one(
    metered: tuple[FastAPI, httpx.AsyncClient], client: httpx.AsyncClient
) -> None:
    _, http = metered
    async with httpx.AsyncClient(transport=http._transport, base_url="http://testserver") as anon:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
            refused = await anon.get("/metrics", headers=headers)
            assert refused.status_code == 401, headers
    # The default app has no token configured: there is no such route to find.
    assert (await client.get("/metrics")).status_code == 404


async def test_an_unwired_dispatcher_keeps_working_without_metrics(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings
) -> None:
    await client.post("/v3/sms/send", json={"messages": [{"to": "+12025550161", "body": "x"}]})
    assert await dispatcher(app.state.runtime.engine, settings).run_once() == 1


async def test_metrics_show_connector_health_from_the_database(
    metered: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    application, http = metered
    # Written by another worker process: this process never handed anything over.
    board = Board(application.state.runtime.engine, threshold=1, cooldown=600)
    await board.failed("carrier-a", "bind refused")
    board.count("carrier-b", "delivered", 7)
    await board.flush()

    shown = await scrape(http)

    assert shown[("dovecote_connector_up", frozenset({("connector", "carrier-a")}))] == 0
    assert shown[("dovecote_connector_up", frozenset({("connector", "carrier-b")}))] == 1
    downs = ("dovecote_connector_cooldowns", frozenset({("connector", "carrier-a")}))
    assert shown[downs] == 1
    handled = frozenset({("connector", "carrier-b"), ("outcome", "delivered")})
    assert shown[("dovecote_connector_handled_messages", handled)] == 7
