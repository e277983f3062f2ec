"""`/dovecote/connectors` and `/dovecote/routes`: the owner's CRUD, everyone else refused,
bad input answered 4xx in ClickSend's envelope with nothing written."""

from __future__ import annotations

import time
from typing import Any

import httpx
from fastapi import FastAPI

from dovecote.accounts.service import TEST_API_KEY
from dovecote.pipeline.routing.health import Board

HTTP = {"url": "http://127.0.0.1:9", "username": "me", "password": "TOP-SECRET-77"}


async def test_the_owner_adds_lists_changes_and_removes_connectors_and_routes(
    client: httpx.AsyncClient,
) -> None:
    added = await client.post(
        "/dovecote/connectors",
        json={"name": "up1", "transport": "http", "settings": HTTP, "throughput": 20},
    )
    assert added.status_code == 200, added.text
    assert added.json()["data"]["settings"]["password"] == "********"
    await client.post("/dovecote/connectors", json={"name": "local", "transport": "sandbox"})
    route = await client.post(
        "/dovecote/routes",
        json={"connectors": ["up1", "local"], "country": "au", "channel": "sms", "priority": 3},
    )
    assert route.status_code == 200, route.text
    route_id = route.json()["data"]["route_id"]
    assert route.json()["data"]["country"] == "AU"

    changed = await client.patch(
        "/dovecote/connectors/up1", json={"enabled": False, "settings": {"timeout": 3}}
    )
    assert changed.status_code == 200, changed.text
    data = changed.json()["data"]
    assert data["enabled"] is False and data["settings"]["timeout"] == 3
    assert data["settings"]["url"] == HTTP["url"]  # merged, not replaced

    price = await client.post(
        "/dovecote/connectors/up1/prices",
        json={"channel": "sms", "prefix": "+61", "price": "0.045"},
    )
    assert price.status_code == 200, price.text
    assert price.json()["data"] == [
        {"channel": "sms", "prefix": "+61", "currency": "USD", "price": 0.045}
    ]

    listed = (await client.get("/dovecote/connectors")).json()["data"]
    assert [c["name"] for c in listed] == ["local", "up1"]
    assert "TOP-SECRET-77" not in (await client.get("/dovecote/connectors")).text
    routes = (await client.get("/dovecote/routes")).json()["data"]
    assert [r["connectors"] for r in routes] == [["up1", "local"]]

    in_use = await client.delete("/dovecote/connectors/up1")
    assert in_use.status_code == 400 and in_use.json()["response_code"] == "BAD_REQUEST"
    assert (await client.delete(f"/dovecote/routes/{route_id}")).status_code == 200
    assert (await client.delete("/dovecote/connectors/up1")).status_code == 200
    assert (await client.get("/dovecote/connectors/up1")).status_code == 404
    assert (await client.delete(f"/dovecote/routes/{route_id}")).status_code == 404


async def test_anyone_but_the_owner_is_refused(app: FastAPI) -> None:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://testserver", auth=("nocredit", TEST_API_KEY)
    ) as other:
        for method, path, body in (
            ("GET", "/dovecote/connectors", None),
            ("POST", "/dovecote/connectors", {"name": "x", "transport": "sandbox"}),
            ("GET", "/dovecote/routes", None),
        ):
            response = await other.request(method, path, json=body)
            assert response.status_code == 403, response.text
            assert response.json()["response_code"] == "FORBIDDEN"


async def test_bad_input_is_a_4xx_and_writes_nothing(client: httpx.AsyncClient) -> None:
    bad: list[tuple[str, dict[str, Any]]] = [
        ("/dovecote/connectors", {"name": "Bad Name", "transport": "sandbox"}),
        ("/dovecote/connectors", {"name": "x", "transport": "pigeon"}),
        (
            "/dovecote/connectors",
            {"name": "x", "transport": "http", "settings": {"url": "ftp://x"}},
        ),
        ("/dovecote/connectors", {"name": "x", "transport": "sandbox", "throughput": -1}),
        ("/dovecote/connectors", {"name": "x", "transport": "smpp", "settings": {"hots": "a"}}),
        ("/dovecote/connectors", {"name": "x", "transport": "sandbox", "extra": 1}),
        ("/dovecote/routes", {"connectors": []}),
        ("/dovecote/routes", {"connectors": ["missing"]}),
        ("/dovecote/routes", {"connectors": ["x"], "channel": "telegram"}),
        ("/dovecote/routes", {"connectors": ["x"], "prefix": "61abc"}),
    ]
    for path, body in bad:
        response = await client.post(path, json=body)
        assert 400 <= response.status_code < 500, (body, response.text)
        assert "response_code" in response.json()
    assert (await client.get("/dovecote/connectors")).json()["data"] == []
    assert (await client.get("/dovecote/routes")).json()["data"] == []


async def test_a_route_price_sets_what_a_message_through_that_connector_costs(
    client: httpx.AsyncClient,
) -> None:
    async def send(to: str, body: str = "hi") -> dict[str, Any]:
        response = await client.post("/v3/sms/send", json={"messages": [{"to": to, "body": body}]})
        assert response.status_code == 200, response.text
        message: dict[str, Any] = response.json()["data"]["messages"][0]
        return message

    book_au = float((await send("+61411000001"))["message_price"])
    book_uk = float((await send("+447911000001"))["message_price"])
    await client.post("/dovecote/connectors", json={"name": "cheap", "transport": "sandbox"})
    await client.post("/dovecote/routes", json={"connectors": ["cheap"], "channel": "sms"})
    for prefix, price in (("+61", "0.0123"), ("+614", "0.0077")):
        answer = await client.post(
            "/dovecote/connectors/cheap/prices",
            json={"channel": "sms", "prefix": prefix, "price": price},
        )
        assert answer.status_code == 200, answer.text

    assert float((await send("+61411000002"))["message_price"]) == 0.0077  # longest prefix
    assert float((await send("+61211000002"))["message_price"]) == 0.0123
    assert float((await send("+61411000003", "x" * 200))["message_price"]) == 0.0154  # 2 parts
    assert float((await send("+447911000002"))["message_price"]) == book_uk  # no price set
    assert book_au != 0.0077
    # Disabled, the connector no longer prices: the book's price again.
    await client.patch("/dovecote/connectors/cheap", json={"enabled": False})
    assert float((await send("+61411000004"))["message_price"]) == book_au


async def test_connectors_show_the_health_every_worker_shares(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await client.post("/dovecote/connectors", json={"name": "up1", "transport": "sandbox"})
    await client.post("/dovecote/connectors", json={"name": "up2", "transport": "sandbox"})
    # What a worker (any worker process) writes when hand-overs fail and succeed.
    board = Board(app.state.runtime.engine, threshold=2, cooldown=600)
    await board.failed("up1", "connection refused")
    await board.failed("up1", "connection refused")
    board.count("up2", "sent", 4)
    await board.flush()

    listed = {
        c["name"]: c["health"] for c in (await client.get("/dovecote/connectors")).json()["data"]
    }
    shown = (await client.get("/dovecote/connectors/up1")).json()["data"]["health"]

    assert shown == listed["up1"]
    assert shown["up"] is False and shown["down_until"] >= time.time() + 590
    assert (shown["downs"], shown["last_error"]) == (1, "connection refused")
    assert listed["up2"]["up"] is True and listed["up2"]["messages"]["sent"] == 4
    assert listed["up2"]["consecutive_failures"] == 0 and listed["up2"]["down_until"] is None
