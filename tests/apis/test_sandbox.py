"""`POST /sandbox/sms/inbound`: simulate a recipient's reply, threaded like ClickSend's."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI

from dovecote.channels.sms.inbound import record_inbound
from dovecote.settings import Settings
from dovecote.storage.tables import messages
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
