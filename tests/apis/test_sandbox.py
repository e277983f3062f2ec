"""The sandbox routes: `POST /sandbox/sms/inbound` (a recipient's reply, threaded like
ClickSend's) and the read-back of captured email, which real deliveries never allow."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI

from conftest import OWNER, OWNER_KEY
from dispatch_support import deliver
from dovecote.app import create_app
from dovecote.channels.sms.inbound import record_inbound
from dovecote.pipeline.events import EventLog
from dovecote.settings import Settings
from dovecote.storage.tables import messages
from email_support import add_address, email_rows, smtp_relay, until, with_smtp
from sms_support import T0, as_caller, insert, other_account, owner, sms, subaccount


def engine_of(app: FastAPI) -> Any:
    return app.state.runtime.engine


async def test_a_simulated_reply_threads_to_the_latest_sms_sent_to_its_sender(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings
) -> None:
    me = await owner(client, settings)
    older = sms(me.account_id, me.user_id, body="First", recipient="+61433333333")
    latest = sms(
        me.account_id,
        me.user_id,
        body="Second",
        recipient="+61433333333",
        custom_string="ticket-4",
        created_at=T0 + 50,
    )
    elsewhere = sms(me.account_id, me.user_id, recipient="+61444444444", created_at=T0 + 99)
    await insert(engine_of(app), messages, older, latest, elsewhere)

    response = await client.post(
        "/sandbox/sms/inbound",
        json={"from": "+61433333333", "to": "Dovecote", "body": "Sure, see you"},
    )

    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["original_message_id"] == latest["id"]
    assert data["original_body"] == "Second"
    assert data["custom_string"] == "ticket-4"
    assert (data["from"], data["to"], data["_keyword"]) == ("+61433333333", "Dovecote", "sure,")
    listed = (await client.get("/v3/sms/inbound")).json()["data"]["data"]
    assert [m["message_id"] for m in listed] == [data["message_id"]]
    replied = (await client.get(f"/v3/sms/inbound/{latest['id']}")).json()["data"]
    assert replied["message_id"] == data["message_id"]


async def test_a_simulated_reply_can_name_its_original_and_goes_to_that_messages_sender(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings
) -> None:
    me = await owner(client, settings)
    clerk = await subaccount(client, me, "clerk", reporting=False)
    clerks = sms(me.account_id, clerk.user_id, body="From the clerk")
    await insert(engine_of(app), messages, clerks)

    response = await client.post(
        "/sandbox/sms/inbound",
        json={
            "from": "(650) 253-0000",  # local format, read with the account's country (US)
            "to": "+61400000000",
            "body": "Got it",
            "original_message_id": clerks["id"].lower(),
        },
    )

    assert response.status_code == 200, response.text
    assert response.json()["data"]["original_message_id"] == clerks["id"]
    async with as_caller(app, clerk) as as_clerk:
        seen = (await as_clerk.get("/v3/sms/inbound")).json()["data"]["data"]
    assert [m["body"] for m in seen] == ["Got it"]


async def test_a_simulated_reply_with_bad_fields_is_refused_naming_them(
    app: FastAPI, client: httpx.AsyncClient, anon: httpx.AsyncClient
) -> None:
    stranger = await other_account(engine_of(app))
    foreign = sms(stranger.account_id, stranger.user_id)
    await insert(engine_of(app), messages, foreign)
    good = {"from": "+61411111111", "to": "+61400000000", "body": "Hi"}
    cases = [
        ({**good, "from": "not a number"}, "from"),
        ({**good, "to": "  "}, "to"),
        ({**good, "body": ""}, "body"),
        ({**good, "original_message_id": foreign["id"]}, "original_message_id"),
        ({"to": "+61400000000", "body": "Hi"}, "from"),
    ]

    for body, field in cases:
        response = await client.post("/sandbox/sms/inbound", json=body)
        assert response.status_code == 400, body
        assert field in response.json()["response_msg"], body
    assert (await anon.post("/sandbox/sms/inbound", json=good)).status_code == 401
    assert (await client.get("/v3/sms/inbound")).json()["data"]["total"] == 0


async def test_record_inbound_is_lenient_for_transports_and_returns_the_new_id(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings
) -> None:
    me = await owner(client, settings)
    original = sms(me.account_id, me.user_id, body="Ping", custom_string="c-1")
    await insert(engine_of(app), messages, original)

    async with engine_of(app).begin() as conn:
        threaded = await record_inbound(
            conn,
            EventLog(),
            account_id=me.account_id,
            user_id=me.user_id,
            sender="+61411111111",
            recipient="",
            body="Pong",
            original_message_id=original["id"],
            now=T0 + 7,
        )
        odd = await record_inbound(
            conn,
            EventLog(),
            account_id=me.account_id,
            user_id=me.user_id,
            sender="SHORTCODE",
            recipient="Dovecote",
            body="Not a phone number",
            original_message_id="00000000-0000-0000-0000-000000000000",
            now=T0 + 8,
        )

    listed = (await client.get("/v3/sms/inbound")).json()["data"]["data"]
    by_id = {m["message_id"]: m for m in listed}
    assert by_id[threaded]["original_body"] == "Ping"
    assert by_id[threaded]["custom_string"] == "c-1"
    assert by_id[threaded]["timestamp"] == T0 + 7
    assert by_id[odd]["from"] == "SHORTCODE"
    assert by_id[odd]["original_message_id"] is None


async def test_the_exact_mime_of_an_email_can_be_read_back_by_its_account_only(
    client: httpx.AsyncClient, app: FastAPI, settings: Settings
) -> None:
    import email

    me = await owner(client, settings)
    engine = app.state.runtime.engine
    async with engine.begin() as conn:
        message_id = await app.state.runtime.system_mail.send(
            conn,
            account_id=me.account_id,
            user_id=me.user_id,
            to="reader@example.com",
            subject="Your code is 424242",
            html="<p>Your code is <b>424242</b></p>",
        )
    stranger = await other_account(engine)

    mine = await client.get(f"/sandbox/email/{message_id}.eml")
    async with as_caller(app, stranger) as http:
        theirs = await http.get(f"/sandbox/email/{message_id}.eml")
    unknown = await client.get("/sandbox/email/00000000-0000-0000-0000-000000000000.eml")

    assert mine.status_code == 200
    assert mine.headers["content-type"] == "message/rfc822"
    parsed = email.message_from_bytes(mine.content)
    assert parsed["To"] == "reader@example.com"
    assert parsed["Subject"] == "Your code is 424242"
    assert theirs.status_code == 404
    assert unknown.status_code == 404


@asynccontextmanager
async def serving(settings: Settings) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """An app built from `settings` and a client authenticated as the owner."""
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://testserver", auth=(OWNER, OWNER_KEY)
        ) as http:
            yield application, http


async def ask_to_verify(http: httpx.AsyncClient, address: str) -> int:
    added = await http.post("/v3/email/addresses", json={"email_address": address})
    assert added.status_code == 200, added.text
    address_id = int(added.json()["data"]["email_address_id"])
    sent = await http.put(f"/v3/email/address-verify/{address_id}/send")
    assert sent.status_code == 200, sent.text
    return address_id


async def test_a_verification_email_sent_through_smtp_cannot_be_read_back(
    settings: Settings,
) -> None:
    with smtp_relay() as relay:
        configured = with_smtp(settings, relay)
        async with serving(configured) as (application, http):
            engine = application.state.runtime.engine
            await ask_to_verify(http, "ceo@bigbank.example")
            [row] = await email_rows(engine)
            queued = await http.get(f"/sandbox/email/{row['id']}.eml")
            assert await deliver(engine, configured) == 1
            await until(lambda: len(relay.received) == 1)
            delivered = await http.get(f"/sandbox/email/{row['id']}.eml")

    # The token went to the real mailbox, and only there.
    assert relay.received[0].recipients == ["ceo@bigbank.example"]
    assert b"Activation token:" in relay.received[0].data
    assert queued.status_code == 404
    assert delivered.status_code == 404
    assert delivered.json()["response_code"] == "NOT_FOUND"
    assert b"Activation token" not in delivered.content


async def test_mail_handed_to_smtp_stays_unreadable_after_switching_to_the_sandbox(
    settings: Settings,
) -> None:
    with smtp_relay() as relay:
        configured = with_smtp(settings, relay)
        async with serving(configured) as (application, http):
            engine = application.state.runtime.engine
            await ask_to_verify(http, "ceo@bigbank.example")
            [real] = await email_rows(engine)
            assert await deliver(engine, configured) == 1
            await until(lambda: len(relay.received) == 1)

    async with serving(settings) as (application, http):
        engine = application.state.runtime.engine
        await ask_to_verify(http, "me@example.com")
        captured = next(row for row in await email_rows(engine) if row["id"] != real["id"])
        assert await deliver(engine, settings) == 1
        real_read = await http.get(f"/sandbox/email/{real['id']}.eml")
        captured_read = await http.get(f"/sandbox/email/{captured['id']}.eml")

        listed = (await http.get("/sandbox/email")).json()["data"]["data"]

    assert real_read.status_code == 404
    assert captured_read.status_code == 200
    assert b"Activation token:" in captured_read.content
    assert [item["message_id"] for item in listed] == [captured["id"]]


async def system_mail(app: FastAPI, caller: Any, to: str, subject: str = "Hi") -> str:
    async with app.state.runtime.engine.begin() as conn:
        message_id: str = await app.state.runtime.system_mail.send(
            conn,
            account_id=caller.account_id,
            user_id=caller.user_id,
            to=to,
            subject=subject,
            html="<p>Hello</p>",
        )
    return message_id


async def test_the_sandbox_lists_every_captured_email_newest_first_system_mail_included(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings
) -> None:
    me = await owner(client, settings)
    engine = app.state.runtime.engine
    sender = await add_address(engine, me.account_id, me.user_id, "me@example.com")
    sent = await client.post(
        "/v3/email/send",
        json={
            "to": [{"email": "ann@example.net"}],
            "from": {"email_address_id": sender},
            "subject": "Invoice",
            "body": "<p>Hi</p>",
        },
    )
    assert sent.status_code == 200, sent.text
    address_id = await ask_to_verify(client, "New@Example.com")
    coded = await client.post("/sendCode", json={"email": "user@example.com"})
    assert coded.status_code == 200

    listed = await client.get("/sandbox/email")
    found = await client.get("/sandbox/email", params={"to": "new@EXAMPLE.com"})

    assert listed.status_code == 200, listed.text
    page = listed.json()["data"]
    assert page["total"] == 3
    assert [(e["to"], e["system"]) for e in page["data"]] == [
        ("user@example.com", True),
        ("New@example.com", True),
        ("ann@example.net", False),
    ]
    assert page["data"][2]["message_id"] == sent.json()["data"]["message_id"]
    assert page["data"][2]["subject"] == "Invoice"
    assert page["data"][0]["from"] == settings.system_email_from
    [verification] = found.json()["data"]["data"]
    assert verification["subject"] == "Verify your sender address"
    # The developer's way to the token: find the email, read it, verify the address.
    source = (await client.get(verification["_eml_url"])).content.decode()
    token = source.split("Activation token: ", 1)[1].split()[0]
    verified = await client.put(f"/v3/email/address-verify/{address_id}/verify/{token}")
    assert verified.status_code == 200, verified.text


async def test_the_captured_list_pages_and_searches_like_clicksend_lists(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings
) -> None:
    me = await owner(client, settings)
    ids = [await system_mail(app, me, f"r{n}@example.com", f"Mail {n}") for n in range(17)]

    first = (await client.get("/sandbox/email")).json()["data"]
    second = (await client.get("/sandbox/email", params={"page": 2, "limit": 15})).json()["data"]
    searched = await client.get("/sandbox/email", params={"q": "subject:mail 1"})
    oldest = await client.get("/sandbox/email", params={"order_by": "message_id:asc"})
    bad = await client.get("/sandbox/email", params={"limit": 5})

    assert (first["total"], first["per_page"], first["last_page"]) == (17, 15, 2)
    assert [e["message_id"] for e in first["data"] + second["data"]] == ids[::-1]
    assert first["next_page_url"] is not None and second["next_page_url"] is None
    subjects = sorted(e["subject"] for e in searched.json()["data"]["data"])
    assert subjects == sorted(["Mail 1", *(f"Mail {n}" for n in range(10, 17))])
    assert oldest.json()["data"]["data"][0]["message_id"] == ids[0]
    assert bad.status_code == 400


async def test_the_captured_list_shows_each_caller_what_the_eml_route_would(
    app: FastAPI, client: httpx.AsyncClient, anon: httpx.AsyncClient, settings: Settings
) -> None:
    me = await owner(client, settings)
    clerk = await subaccount(client, me, "clerk", reporting=False)
    auditor = await subaccount(client, me, "auditor", reporting=True)
    stranger = await other_account(app.state.runtime.engine)
    mine = await system_mail(app, me, "a@example.com")
    clerks = await system_mail(app, clerk, "b@example.com")
    theirs = await system_mail(app, stranger, "c@example.com")

    async def seen(caller: Any) -> list[str]:
        async with as_caller(app, caller) as http:
            page = (await http.get("/sandbox/email")).json()["data"]
        return sorted(e["message_id"] for e in page["data"])

    assert await seen(me) == sorted([mine, clerks])
    assert await seen(auditor) == sorted([mine, clerks])
    assert await seen(clerk) == [clerks]
    assert await seen(stranger) == [theirs]
    assert (await anon.get("/sandbox/email")).status_code == 401


async def test_the_captured_list_is_not_found_when_email_goes_to_a_real_transport(
    settings: Settings,
) -> None:
    with smtp_relay() as relay:
        configured = with_smtp(settings, relay)
        async with serving(configured) as (_, http):
            await ask_to_verify(http, "ceo@bigbank.example")
            listed = await http.get("/sandbox/email")
            filtered = await http.get("/sandbox/email", params={"to": "ceo@bigbank.example"})

    assert listed.status_code == 404
    assert listed.json()["response_code"] == "NOT_FOUND"
    assert filtered.status_code == 404
