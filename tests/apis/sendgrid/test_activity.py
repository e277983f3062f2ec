"""SendGrid Email Activity over HTTP: shapes, auth and access, windows, limits, injection,
and the official `sendgrid` library as the client."""

from __future__ import annotations

import asyncio
import json
import re
import time
from typing import Any

import httpx
import pytest
import sendgrid
import sqlalchemy as sa
from fastapi import FastAPI
from python_http_client.exceptions import (
    BadRequestsError,
    NotFoundError,
)

from activity_rows import VISIBLE, Msg, World, ev, insert_messages, make_world, set_extended
from dovecote.activity.key_ids import public_key_id
from dovecote.settings import Settings
from dovecote.storage import tables
from dovecote.storage.db import create_engine
from email_support import add_address, owner_principal

ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
SUMMARY_KEYS = {
    "from_email", "msg_id", "subject", "to_email", "status",
    "opens_count", "clicks_count", "last_event_time",
}  # fmt: skip
NEWEST_FIRST = [
    "m01", "m02", "m03", "m13", "m04", "m05", "m16",
    "m06", "m07", "m08", "m09", "m10", "m11", "m12",
]  # fmt: skip


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # SendGrid's 6/minute would stop these tests; the limit itself has its own test.
    return settings.model_copy(update={"activity_rate_limit": "10000/second"})


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
async def world(app: FastAPI, settings: Settings) -> World:
    assert settings.owner_api_key is not None
    created = await make_world(app.state.runtime.engine, settings.owner_api_key)
    await insert_messages(app.state.runtime.engine, created, time.time())
    return created


async def test_it_lists_messages_newest_first_in_sendgrid_shape(
    anon: httpx.AsyncClient, world: World, settings: Settings
) -> None:
    assert settings.owner_api_key is not None
    response = await anon.get(
        "/v3/messages", params={"limit": 1000}, headers=bearer(settings.owner_api_key)
    )

    assert response.status_code == 200
    messages = response.json()["messages"]
    assert [m["msg_id"] for m in messages] == NEWEST_FIRST
    assert all(set(m) == SUMMARY_KEYS for m in messages)
    assert all(ISO.match(m["last_event_time"]) for m in messages)
    first = messages[0]
    assert first["from_email"] == "alice@shop.test"
    assert first["to_email"] == "bob@example.com"
    assert (first["opens_count"], first["clicks_count"], first["status"]) == (2, 1, "delivered")


async def test_it_answers_basic_auth_too_defaults_to_ten_and_filters(
    client: httpx.AsyncClient, world: World
) -> None:
    default = await client.get("/v3/messages")
    filtered = await client.get(
        "/v3/messages", params={"query": 'to_email="bob@example.com"', "limit": 5}
    )

    assert default.status_code == 200
    assert [m["msg_id"] for m in default.json()["messages"]] == NEWEST_FIRST[:10]
    assert [m["msg_id"] for m in filtered.json()["messages"]] == ["m01", "m06"]


async def test_bad_queries_and_limits_are_sendgrid_400s(
    client: httpx.AsyncClient, world: World
) -> None:
    unknown = await client.get("/v3/messages", params={"query": 'bad_field="x"'})

    assert unknown.status_code == 400
    assert unknown.json() == {
        "errors": [
            {"field": "query", "message": "invalid syntax: 'bad_field' is not a known field"}
        ]
    }
    # "" came from the contract run (tests/test_contract.py): `limit=` was the default.
    for limit in ("0", "1001", "abc", "2.5", "-1", "", " "):
        response = await client.get("/v3/messages", params={"limit": limit})
        assert response.status_code == 400, limit
        assert "limit" in response.json()["errors"][0]["message"]
        assert response.json()["errors"][0]["field"] == "limit"


async def test_it_shows_one_message_in_full(client: httpx.AsyncClient, world: World) -> None:
    response = await client.get("/v3/messages/m01")

    assert response.status_code == 200
    body = response.json()
    assert body["msg_id"] == "m01"
    assert body["template_id"] == "tpl-welcome"
    assert body["asm_group_id"] == 7
    assert body["teammate"] == "alice"
    assert body["api_key_id"] == "key1"
    assert body["originating_ip"] == "10.0.0.1"
    assert body["outbound_ip"] == "192.0.2.10"
    assert body["outbound_ip_type"] == "dedicated"
    assert body["categories"] == ["welcome", "onboarding"]
    assert json.loads(body["unique_args"]) == {"customer": "42", "plan": "pro"}
    names = [e["event_name"] for e in body["events"]]
    assert names == ["processed", "delivered", "opened", "opened", "clicked"]
    assert all(ISO.match(e["processed"]) for e in body["events"])
    assert body["events"][1]["mx_server"] == "mx.example.com"
    assert body["events"][4]["url"] == "https://shop.test/start"
    assert body["events"][4]["http_user_agent"] == "Mozilla/5.0"
    assert set(body["events"][0]) == {"event_name", "processed"}  # only what applies


async def test_it_reports_bounces_deferrals_and_empty_fields(
    client: httpx.AsyncClient, world: World
) -> None:
    bounced = (await client.get("/v3/messages/m03")).json()
    deferred = (await client.get("/v3/messages/m02")).json()
    slow = (await client.get("/v3/messages/m16")).json()

    assert bounced["events"][1] == {
        "event_name": "bounced",
        "processed": bounced["events"][1]["processed"],
        "reason": "550 no such user",
        "bounce_type": "hard",
    }
    assert deferred["events"][1]["attempt_num"] == 1
    assert deferred["events"][1]["reason"] == "421 try later"
    assert deferred["template_id"] == ""
    assert "asm_group_id" not in deferred  # no group: SendGrid's integer ≥ 1 has no "none"
    assert deferred["unique_args"] == '{"customer": "43"}'
    # m16 was processed 50 hours ago: only its recent open is inside the window.
    assert [e["event_name"] for e in slow["events"]] == ["opened"]


async def test_fields_the_spec_types_strictly_always_hold_such_values(
    client: httpx.AsyncClient, world: World, app: FastAPI
) -> None:
    # The contract run (tests/test_contract.py) found "" for outbound_ip (format ipv4) and
    # outbound_ip_type (dedicated | shared), and null for asm_group_id (integer ≥ 1).
    relayed = Msg(
        "m90",
        "alice@shop.test",
        "zoe@example.com",
        "Relayed",
        "delivered",
        (
            ev("processed", 60),
            ev("deferred", 50, reason="4" * 2000, attempt_num=11, mx_server="192.0.2.25:587"),
            ev("delivered", 40, mx_server="192.0.2.25:587"),
        ),
        asm_group_id=0,
    )
    await insert_messages(app.state.runtime.engine, world, time.time(), (relayed,))

    chosen = (await client.get("/v3/messages/m01")).json()
    nothing = (await client.get("/v3/messages/m02")).json()
    via_relay = (await client.get("/v3/messages/m90")).json()

    # What was recorded is shown as it was.
    assert (chosen["outbound_ip"], chosen["outbound_ip_type"]) == ("192.0.2.10", "dedicated")
    assert (chosen["originating_ip"], chosen["asm_group_id"]) == ("10.0.0.1", 7)
    # Nothing recorded: this host, on a shared address; no group, no field.
    assert (nothing["outbound_ip"], nothing["outbound_ip_type"]) == ("127.0.0.1", "shared")
    assert nothing["originating_ip"] == "127.0.0.1"
    assert "asm_group_id" not in nothing
    # A relay named by its IPv4 address is where the message left; group 0 is no group.
    assert (via_relay["outbound_ip"], via_relay["outbound_ip_type"]) == ("192.0.2.25", "shared")
    assert "asm_group_id" not in via_relay and "api_key_id" not in via_relay
    deferral = via_relay["events"][1]
    assert "attempt_num" not in deferral  # SendGrid counts 1 to 10
    assert deferral["reason"] == "4" * 1024  # at most 1024 characters


async def test_the_api_key_id_is_a_public_stable_name_for_the_key(
    client: httpx.AsyncClient, app: FastAPI, settings: Settings
) -> None:
    # The contract run found "api_key_id": "1", the key's row id (SendGrid: 3 to 50
    # letters and digits naming the key).
    engine = app.state.runtime.engine
    me = await owner_principal(engine)
    await add_address(engine, me.account.id, me.user.id, "news@shop.example")
    assert settings.owner_api_key is not None
    sent = await client.post(
        "/v3/mail/send",
        headers=bearer(settings.owner_api_key),
        json={
            "personalizations": [{"to": [{"email": "ann@example.net"}]}],
            "from": {"email": "news@shop.example"},
            "subject": "Hello",
            "content": [{"type": "text/plain", "value": "Hello"}],
        },
    )
    assert sent.status_code == 202, sent.text
    msg_id = sent.headers["X-Message-Id"]

    first = (await client.get(f"/v3/messages/{msg_id}")).json()
    again = (await client.get(f"/v3/messages/{msg_id}")).json()
    key_id = first["api_key_id"]

    async with engine.connect() as conn:
        row_id = (
            await conn.execute(
                sa.select(tables.api_keys.c.id).where(tables.api_keys.c.user_id == me.user.id)
            )
        ).scalar_one()
    assert re.fullmatch(r"dk[0-9a-f]{20}", key_id)
    assert key_id == again["api_key_id"] == public_key_id(str(row_id))
    assert settings.owner_api_key.lower().replace("-", "") not in key_id
    # What the API shows is what a query compares.
    found = await client.get("/v3/messages", params={"query": f'api_key_id="{key_id}"'})
    assert [m["msg_id"] for m in found.json()["messages"]] == [msg_id]
    assert public_key_id(key_id) == key_id  # shown as it is once public
    assert public_key_id("key1") == "key1" and public_key_id(None) is None


async def test_unknown_foreign_and_expired_messages_are_not_found(
    client: httpx.AsyncClient, world: World
) -> None:
    for msg_id in ("nope", "o01", "m14", "m15"):
        response = await client.get(f"/v3/messages/{msg_id}")
        assert response.status_code == 404, msg_id
        assert response.json()["errors"][0]["message"] == "not found"


async def test_each_caller_sees_only_their_own_mail(anon: httpx.AsyncClient, world: World) -> None:
    listed = await anon.get("/v3/messages", params={"limit": 100}, headers=bearer(world.sub_key))
    own = await anon.get("/v3/messages/m13", headers=bearer(world.sub_key))
    mains = await anon.get("/v3/messages/m01", headers=bearer(world.sub_key))
    stranger = await anon.get(
        "/v3/messages",
        params={"limit": 100, "query": 'to_email="bob@example.com"'},
        headers=bearer(world.other_key),
    )

    # The subaccount sees only what it sent; the other account only its own message.
    assert [m["msg_id"] for m in listed.json()["messages"]] == ["m13"]
    assert own.status_code == 200
    assert mains.status_code == 404
    assert [m["msg_id"] for m in stranger.json()["messages"]] == ["o01"]
    nobody = await anon.get("/v3/messages")
    assert nobody.status_code == 401
    assert nobody.json()["errors"][0]["message"]


async def test_extended_history_shows_sixty_days(
    client: httpx.AsyncClient, world: World, app: FastAPI
) -> None:
    await set_extended(app.state.runtime.engine, world.owner.account.id, True)

    listed = await client.get("/v3/messages", params={"limit": 100})
    old = await client.get("/v3/messages/m14")
    ancient = await client.get("/v3/messages/m15")
    slow = (await client.get("/v3/messages/m16")).json()

    assert {m["msg_id"] for m in listed.json()["messages"]} == VISIBLE | {"m14"}
    assert old.status_code == 200
    assert ancient.status_code == 404
    assert [e["event_name"] for e in slow["events"]] == ["processed", "delivered", "opened"]


INJECTIONS = [
    'subject = "x" OR 1=1 --',
    'subject = "x\'; DROP TABLE email_activity; --"',
    'subject = "x"; DELETE FROM email_activity',
    'msg_id = "o01" OR account_id = 2',
    'to_email = "bob@example.com" UNION SELECT * FROM accounts',
    "unique_args['x'') OR 1=1 --'] = \"1\"",
    'unique_args[\'customer\'] = "42" OR "1"="1"',
    'subject LIKE "%" OR user_id > 0',
    'Contains(events, "bounced") OR (SELECT 1)',
    'subject = "\\\\" OR 1=1',
    'status = "delivered" /* comment */',
    'subject = "a" AND sleep(5)',
]


async def test_injection_changes_nothing_and_leaks_nothing(
    client: httpx.AsyncClient, world: World, app: FastAPI
) -> None:
    engine = app.state.runtime.engine

    async def counts() -> list[int]:
        async with engine.connect() as conn:
            return [
                int((await conn.execute(sa.select(sa.func.count()).select_from(t))).scalar_one())
                for t in (tables.email_activity, tables.events, tables.accounts, tables.users)
            ]

    before = await counts()
    for query in INJECTIONS:
        response = await client.get("/v3/messages", params={"query": query, "limit": 1000})
        assert response.status_code in (200, 400), (query, response.text)
        if response.status_code == 200:
            ids = {m["msg_id"] for m in response.json()["messages"]}
            assert ids <= VISIBLE, query
        else:
            assert response.json()["errors"][0]["message"].startswith("invalid syntax"), query
    assert await counts() == before


async def test_the_rate_limit_answers_429_in_sendgrid_format(
    settings: Settings,
) -> None:
    from dovecote.app import create_app

    # Per day: a per-minute sliding-window counter lets one more through when the requests
    # straddle a minute boundary (the previous window is weighed, 1.99 < 2).
    application = create_app(settings.model_copy(update={"activity_rate_limit": "2/day"}))
    assert settings.owner_api_key is not None
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(
            transport=transport,
            base_url="http://testserver",
            headers=bearer(settings.owner_api_key),
        ) as http:
            first = await http.get("/v3/messages")
            second = await http.get("/v3/messages/nope")
            third = await http.get("/v3/messages")
            other_api = await http.get("/v3/account")  # ClickSend is not limited by this
            # Downloads have their own limit, and a refused request (no extended option)
            # does not count against it: test_activity_download.py.
            download = await http.post("/v3/messages/download")
            download_again = await http.post("/v3/messages/download")

    assert first.status_code == 200
    assert first.headers["X-RateLimit-Limit"] == "2"
    assert first.headers["X-RateLimit-Remaining"] == "1"
    assert int(first.headers["X-RateLimit-Reset"]) >= time.time()
    assert second.status_code == 404
    assert third.status_code == 429
    assert third.json()["errors"][0]["message"] == "too many requests"
    assert int(third.headers["Retry-After"]) >= 1
    assert other_api.status_code == 200
    assert download.status_code == 403
    assert download_again.status_code == 403


def test_the_official_sendgrid_client_reads_activity(live_server: Any, settings: Settings) -> None:
    async def seed() -> None:
        engine = create_engine(settings.database_url)
        try:
            assert settings.owner_api_key is not None
            world = await make_world(engine, settings.owner_api_key)
            await insert_messages(engine, world, time.time())
        finally:
            await engine.dispose()

    asyncio.run(seed())
    assert settings.owner_api_key is not None
    sg = sendgrid.SendGridAPIClient(api_key=settings.owner_api_key, host=live_server.url)

    listed = sg.client.messages.get(
        query_params={"query": 'to_email="bob@example.com" AND status="delivered"', "limit": 10}
    )
    one = sg.client.messages._("m03").get()

    assert listed.status_code == 200
    assert [m["msg_id"] for m in json.loads(listed.body)["messages"]] == ["m01"]
    assert one.status_code == 200
    detail = json.loads(one.body)
    assert [e["event_name"] for e in detail["events"]] == ["processed", "bounced"]

    with pytest.raises(BadRequestsError) as bad:
        sg.client.messages.get(query_params={"query": 'nope="x"'})
    assert json.loads(bad.value.body)["errors"][0]["message"] == (
        "invalid syntax: 'nope' is not a known field"
    )
    with pytest.raises(NotFoundError):
        sg.client.messages._("o01").get()
