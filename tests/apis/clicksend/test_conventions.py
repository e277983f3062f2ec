"""ClickSend conventions every endpoint shares: list parameters, pages, errors, limits, CORS."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI

from dovecote.accounts import store
from dovecote.accounts.service import NO_PASSWORD
from dovecote.app import create_app
from dovecote.settings import Settings
from dovecote.storage.listing import MAX_PAGE
from dovecote.storage.tables import users


async def seed_subaccounts(app: FastAPI, owner: str, count: int) -> list[int]:
    """`count` subaccounts of the owner's account (`sub01`, `sub02`, ...) in one transaction.

    Written through storage with no password, because hashing 35 passwords costs seconds.
    """
    async with app.state.runtime.engine.begin() as conn:
        main = await store.get_user_by_username(conn, owner)
        assert main is not None
        ids = []
        for n in range(1, count + 1):
            user = await store.insert_user(
                conn,
                {
                    "account_id": main.account_id,
                    "username": f"sub{n:02d}",
                    "password_hash": NO_PASSWORD,
                    "first_name": "Alice" if n % 2 else "Bob",
                    "email": f"sub{n:02d}@example.com",
                    "created_at": 0,
                },
            )
            ids.append(user.id)
        return ids


async def count_users(app: FastAPI) -> int:
    async with app.state.runtime.engine.connect() as conn:
        return int((await conn.execute(sa.select(sa.func.count()).select_from(users))).scalar_one())


@asynccontextmanager
async def serving(
    settings: Settings, **changes: Any
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """An app of its own (settings changed), and a client authenticated as its owner."""
    application = create_app(settings.model_copy(update=changes))
    async with application.router.lifespan_context(application):
        # Unexpected errors are re-raised by Starlette after the 500 is sent; read the 500.
        transport = httpx.ASGITransport(app=application, raise_app_exceptions=False)
        async with httpx.AsyncClient(
            transport=transport,
            base_url="http://testserver",
            auth=(settings.owner_username or "", settings.owner_api_key or ""),
        ) as http:
            yield application, http


def names(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [row["api_username"] for row in response.json()["data"]["data"]]


async def test_page_and_limit_out_of_range_are_refused_by_name(client: httpx.AsyncClient) -> None:
    for query, name in (
        ("limit=14", "limit"),
        ("limit=101", "limit"),
        ("limit=abc", "limit"),
        ("page=0", "page"),
        ("page=-1", "page"),
        ("page=abc", "page"),
    ):
        response = await client.get(f"/v3/subaccounts?{query}")

        assert response.status_code == 400, query
        assert response.json()["response_code"] == "BAD_REQUEST", query
        assert name in response.json()["response_msg"], query


@pytest.mark.parametrize(
    "path", ["/v3/subaccounts", "/v3/sms/history", "/v3/sms/templates", "/v3/email/history"]
)
async def test_a_page_too_far_to_reach_is_refused_and_the_last_reachable_page_is_empty(
    client: httpx.AsyncClient, path: str
) -> None:
    # (page - 1) * limit once overflowed the OFFSET of both databases: a 500.
    for page in ("1000000000000000000", str(MAX_PAGE + 1)):
        response = await client.get(path, params={"page": page, "limit": "100"})
        assert response.status_code == 400, (path, page, response.text)
        assert response.json()["response_code"] == "BAD_REQUEST"
        assert "Invalid page" in response.json()["response_msg"]
        assert "page" in response.json()["response_msg"]
    last = await client.get(path, params={"page": str(MAX_PAGE), "limit": "100"})
    assert last.status_code == 200, last.text
    assert last.json()["data"]["current_page"] == MAX_PAGE
    assert last.json()["data"]["data"] == []


async def test_unknown_fields_and_bad_directions_are_refused_by_name(
    client: httpx.AsyncClient,
) -> None:
    for query, name in (
        ("q=password_hash:x", "password_hash"),
        ("q=no-colon-here", "q"),
        ("q=subaccount_id:not-a-number", "subaccount_id"),
        ("order_by=password_hash:asc", "password_hash"),
        ("order_by=api_username:sideways", "order_by"),
        ("order_by=api_username", "order_by"),
        ("operator=XOR", "operator"),
    ):
        response = await client.get(f"/v3/subaccounts?{query}")

        assert response.status_code == 400, query
        assert response.json()["response_code"] == "BAD_REQUEST", query
        assert name in response.json()["response_msg"], query


async def test_injection_attempts_are_refused_or_match_nothing(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    before = await count_users(app)
    attempts = [
        {"q": "api_username:x' OR '1'='1"},
        {"q": "api_username:owner' --"},
        {"q": "email:%"},  # LIKE wildcards are escaped, so they match themselves only
        {"q": "api_username:_____"},
        {"q": "subaccount_id:1 OR 1=1"},
        {"order_by": "subaccount_id;DROP TABLE users:asc"},
        {"order_by": "subaccount_id:asc;DROP TABLE users"},
        {"q": "api_username:x", "operator": "OR 1=1"},
    ]
    for params in attempts:
        response = await client.get("/v3/subaccounts", params=params)

        assert response.status_code < 500, params
        if response.status_code == 200:
            assert response.json()["data"]["total"] == 0, params
        else:
            assert response.status_code == 400, params
    assert await count_users(app) == before
    assert (await client.get("/v3/account")).status_code == 200


async def test_search_is_case_insensitive_and_operators_combine_filters(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings
) -> None:
    await seed_subaccounts(app, settings.owner_username or "", 4)

    def search(**params: str) -> Any:
        return client.get("/v3/subaccounts", params=params)

    assert names(await search(q="api_username:SUB03")) == ["sub03"]
    assert names(await search(q="first_name:alice")) == ["sub01", "sub03"]
    both = "api_username:sub01,api_username:sub02"
    assert names(await search(q=both, operator="OR")) == ["sub01", "sub02"]
    assert names(await search(q=both, operator="or")) == ["sub01", "sub02"]
    assert names(await search(q=both, operator="AND")) == []
    assert names(await search(q="first_name:alice,api_username:sub03", operator="AND")) == ["sub03"]
    # The spec documents the AND operator as "AN".
    assert names(await search(q="first_name:alice,api_username:sub03", operator="AN")) == ["sub03"]
    assert names(await search(q="first_name:alice,api_username:sub02")) == []


async def test_order_by_sorts_ascending_and_descending(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings
) -> None:
    await seed_subaccounts(app, settings.owner_username or "", 3)
    owner = settings.owner_username

    descending = await client.get("/v3/subaccounts", params={"order_by": "subaccount_id:desc"})
    by_name = await client.get("/v3/subaccounts", params={"order_by": "api_username:DESC"})
    two_keys = await client.get(
        "/v3/subaccounts", params={"order_by": "first_name:asc,subaccount_id:desc"}
    )

    assert names(descending) == ["sub03", "sub02", "sub01", owner]
    assert names(by_name) == ["sub03", "sub02", "sub01", owner]
    # "" (the owner) < "Alice" < "Bob"; equal first names by id, newest first.
    assert names(two_keys) == [owner, "sub03", "sub01", "sub02"]


async def test_pages_link_to_each_other_and_count_from_and_to(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings
) -> None:
    seeded = await seed_subaccounts(app, settings.owner_username or "", 35)

    pages = []
    url: str | None = "/v3/subaccounts?order_by=subaccount_id:asc&limit=15"
    while url is not None:
        response = await client.get(url)
        assert response.status_code == 200, response.text
        pages.append(response.json()["data"])
        url = pages[-1]["next_page_url"]
        assert len(pages) <= 3, "next_page_url past the last page"

    assert [p["current_page"] for p in pages] == [1, 2, 3]
    assert {p["total"] for p in pages} == {36}
    assert {p["last_page"] for p in pages} == {3}
    assert {p["per_page"] for p in pages} == {15}
    assert [(p["from"], p["to"]) for p in pages] == [(1, 15), (16, 30), (31, 36)]
    assert [len(p["data"]) for p in pages] == [15, 15, 6]
    ids = [row["subaccount_id"] for p in pages for row in p["data"]]
    assert ids == sorted(ids)
    assert set(seeded) < set(ids)
    assert len(set(ids)) == 36

    first, second, third = pages
    assert first["prev_page_url"] is None
    assert third["next_page_url"] is None
    for page, (prev, nxt) in zip(pages, ((None, 2), (1, 3), (2, None)), strict=True):
        for link, number in (("prev_page_url", prev), ("next_page_url", nxt)):
            if number is None:
                continue
            target = httpx.URL(page[link])
            assert target.path == "/v3/subaccounts"
            assert target.params["page"] == str(number)
            # The other list parameters survive in the links.
            assert target.params["limit"] == "15"
            assert target.params["order_by"] == "subaccount_id:asc"
    previous = await client.get(second["prev_page_url"])
    assert previous.json()["data"]["data"] == first["data"]

    beyond = (await client.get("/v3/subaccounts?page=4")).json()["data"]
    assert beyond["data"] == []
    assert (beyond["from"], beyond["to"], beyond["next_page_url"]) == (None, None, None)


async def test_unknown_routes_and_wrong_methods_answer_404_and_405_envelopes(
    client: httpx.AsyncClient,
) -> None:
    missing = await client.get("/v3/no-such-thing")

    assert missing.status_code == 404
    assert missing.json()["http_code"] == 404
    assert missing.json()["response_code"] == "NOT_FOUND"
    assert missing.json()["data"] == []
    for method, path in (("DELETE", "/v3/account"), ("POST", "/v3/countries")):
        response = await client.request(method, path)

        assert response.status_code == 405, path
        assert response.json()["http_code"] == 405
        # The spec's table answers 405 with the NOT_FOUND response code.
        assert response.json()["response_code"] == "NOT_FOUND"
        assert "GET" in response.headers["allow"]


async def test_a_body_that_is_not_json_is_refused_with_an_envelope(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    before = await count_users(app)

    response = await client.post(
        "/v3/subaccounts",
        content=b'{"api_username": "half',
        headers={"Content-Type": "application/json"},
    )

    assert response.status_code == 400
    assert response.json()["http_code"] == 400
    assert response.json()["response_code"] == "BAD_REQUEST"
    assert "JSON" in response.json()["response_msg"]
    assert await count_users(app) == before


async def test_an_oversized_body_is_refused_and_nothing_is_written(settings: Settings) -> None:
    body = {
        "api_username": "big",
        "password": "secret-password",
        "email": "big@example.com",
        "phone_number": "+61411111111",
        "first_name": "Big",
        "last_name": "Body",
        "notes": "n" * 600,
    }
    raw = json.dumps(body).encode()

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it streams
        for start in range(0, len(raw), 100):
            yield raw[start : start + 100]

    async with serving(settings, max_body_bytes=500) as (application, http):
        before = await count_users(application)
        declared = await http.post("/v3/subaccounts", json=body)
        streamed = await http.post(
            "/v3/subaccounts", content=chunks(), headers={"Content-Type": "application/json"}
        )
        after = await count_users(application)
        small = await http.post("/v3/subaccounts", json={**body, "notes": "short"})

    for response in (declared, streamed):
        assert response.status_code == 400
        assert response.json()["http_code"] == 400
        assert response.json()["response_code"] == "BAD_REQUEST"
        assert "larger than 500 bytes" in response.json()["response_msg"]
    assert after == before
    assert small.status_code == 200  # the limit, not the endpoint, refused the others


async def test_an_unexpected_error_answers_500_without_internals(settings: Settings) -> None:
    async with serving(settings) as (application, http):

        async def explode() -> None:
            raise RuntimeError("secret detail from /srv/dovecote/internal.py")

        application.add_api_route("/v3/explode", explode)
        response = await http.get("/v3/explode")

    assert response.status_code == 500
    body = response.json()
    assert body["http_code"] == 500
    assert body["response_code"] == "INTERNAL_SERVER_ERROR"
    assert "secret detail" not in response.text
    assert "Traceback" not in response.text
    assert "RuntimeError" not in response.text


async def test_cors_headers_are_sent_for_configured_origins_only(settings: Settings) -> None:
    origin = "https://dashboard.example"
    async with serving(settings, cors_origins=[origin]) as (_, http):
        preflight = await http.options(
            "/v3/account",
            headers={"Origin": origin, "Access-Control-Request-Method": "PUT"},
        )
        simple = await http.get("/v3/account", headers={"Origin": origin})
        stranger = await http.get("/v3/account", headers={"Origin": "https://evil.example"})
    async with serving(settings) as (_, http):
        default = await http.get("/v3/account", headers={"Origin": origin})

    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == origin
    assert "PUT" in preflight.headers["access-control-allow-methods"]
    assert simple.headers["access-control-allow-origin"] == origin
    assert "access-control-allow-origin" not in stranger.headers
    assert "access-control-allow-origin" not in default.headers


async def test_errors_and_refusals_at_the_door_carry_cors_headers(settings: Settings) -> None:
    origin = "https://dashboard.example"
    async with serving(settings, cors_origins=[origin], max_body_bytes=500) as (application, http):

        async def explode() -> None:
            raise RuntimeError("boom")

        application.add_api_route("/v3/explode", explode)
        broken = await http.get("/v3/explode", headers={"Origin": origin})
        broken_stranger = await http.get("/v3/explode", headers={"Origin": "https://evil.example"})
        oversized = await http.post(
            "/v3/sms/templates",
            json={"template_name": "big", "body": "x" * 600},
            headers={"Origin": origin},
        )
        oversized_sendgrid = await http.post(
            "/v3/mail/send", content=b"{" + b" " * 600 + b"}", headers={"Origin": origin}
        )
        nul = await http.get("/v3/subaccounts?q=a%00b", headers={"Origin": origin})

    assert broken.status_code == 500
    assert broken.headers["access-control-allow-origin"] == origin
    assert broken.headers["access-control-allow-credentials"] == "true"
    assert "Origin" in broken.headers["vary"]
    assert broken.json()["response_code"] == "INTERNAL_SERVER_ERROR"
    assert broken_stranger.status_code == 500
    assert "access-control-allow-origin" not in broken_stranger.headers
    assert oversized.status_code == 400
    assert "larger than 500 bytes" in oversized.json()["response_msg"]
    assert oversized_sendgrid.status_code == 413
    assert nul.status_code == 400
    for refused in (oversized, oversized_sendgrid, nul):
        assert refused.headers["access-control-allow-origin"] == origin


@pytest.mark.parametrize("value", ["99999999999", "99999999999999999999999"])
async def test_it_answers_a_huge_number_in_q_without_a_server_error(
    client: httpx.AsyncClient, value: str
) -> None:
    response = await client.get("/v3/subaccounts", params={"q": f"subaccount_id:{value}"})
    assert response.status_code in (200, 400)
    assert response.json()["http_code"] == response.status_code
    if response.status_code == 200:
        assert response.json()["data"]["total"] == 0


async def test_a_nul_character_anywhere_is_refused_before_anything_is_written(
    client: httpx.AsyncClient,
) -> None:
    before = (await client.get("/v3/subaccounts")).json()["data"]["total"]
    in_body = await client.post(
        "/v3/subaccounts",
        content=json.dumps(
            {
                "api_username": "nul\u0000user",
                "password": "pw",
                "email": "nul@example.com",
                "phone_number": "+14155552671",
                "first_name": "N",
                "last_name": "U",
            }
        ),
        headers={"Content-Type": "application/json"},
    )
    in_query = await client.get("/v3/subaccounts", params={"q": "api_username:a\u0000b"})
    escaped_backslash = await client.get("/v3/subaccounts", params={"q": "notes:\\u0000"})
    literal_in_body = await client.post(
        "/v3/sms/templates", json={"template_name": "path", "body": "C:\\u0000 is a path"}
    )
    after = (await client.get("/v3/subaccounts")).json()["data"]["total"]

    assert in_body.status_code == 400
    assert in_body.json()["response_msg"] == "Text may not contain the NUL character (\\u0000)."
    assert in_query.status_code == 400
    # A literal backslash followed by "u0000" is ordinary text, not a NUL.
    assert escaped_backslash.status_code == 200
    assert literal_in_body.status_code == 200
    assert literal_in_body.json()["data"]["body"] == "C:\\u0000 is a path"
    assert after == before
