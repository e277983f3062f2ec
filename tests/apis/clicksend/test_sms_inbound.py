"""`/v3/sms/inbound`: polling replies, read flags, test inbound SMS."""

from __future__ import annotations

import asyncio
from typing import Any

import clicksend
import httpx
from fastapi import FastAPI

from dovecote.settings import Settings
from dovecote.storage.tables import messages
from sms_support import (
    T0,
    as_caller,
    insert,
    insert_into,
    other_account,
    owner,
    reply,
    sdk,
    sms,
    subaccount,
    webhook_peer,
)


def engine_of(app: FastAPI) -> Any:
    return app.state.runtime.engine


async def test_inbound_lists_unread_replies_newest_first_with_their_original(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings
) -> None:
    me = await owner(client, settings)
    original = sms(me.account_id, me.user_id, body="Shall we meet?", custom_string="ref-9")
    answer = reply(
        me.account_id,
        me.user_id,
        body="Yes please",
        original_message_id=original["id"],
        custom_string="ref-9",
        created_at=T0 + 10,
    )
    later = reply(me.account_id, me.user_id, body="  Stop  ", created_at=T0 + 20)
    await insert(engine_of(app), messages, original, answer, later)

    response = await client.get("/v3/sms/inbound")

    assert response.status_code == 200
    page = response.json()["data"]
    assert page["total"] == 2
    newest, older = page["data"]
    assert older == {
        "timestamp": T0 + 10,
        "from": "+61411111111",
        "body": "Yes please",
        "original_body": "Shall we meet?",
        "original_message_id": original["id"],
        "to": "+61400000000",
        "custom_string": "ref-9",
        "message_id": answer["id"],
        "_keyword": "yes",
    }
    assert newest["message_id"] == later["id"]
    assert newest["_keyword"] == "stop"
    assert newest["original_body"] is None
    assert newest["custom_string"] == ""


async def test_read_flags_hide_replies_from_the_list_but_not_from_a_lookup(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings
) -> None:
    me = await owner(client, settings)
    original = sms(me.account_id, me.user_id)
    first = reply(me.account_id, me.user_id, original_message_id=original["id"], created_at=1000)
    second = reply(me.account_id, me.user_id, original_message_id=original["id"], created_at=2000)
    third = reply(me.account_id, me.user_id, created_at=3000)
    await insert(engine_of(app), messages, original, first, second, third)

    one = await client.put(f"/v3/sms/inbound-read/{second['id']}")
    assert one.status_code == 200
    assert one.json()["data"] == 1
    listed = (await client.get("/v3/sms/inbound")).json()["data"]["data"]
    assert [m["message_id"] for m in listed] == [third["id"], first["id"]]

    before = await client.put("/v3/sms/inbound-read", json={"date_before": 1500})
    assert before.status_code == 200
    assert before.json()["data"] is None
    listed = (await client.get("/v3/sms/inbound")).json()["data"]["data"]
    assert [m["message_id"] for m in listed] == [third["id"]]

    assert (await client.put("/v3/sms/inbound-read")).status_code == 200
    assert (await client.get("/v3/sms/inbound")).json()["data"]["total"] == 0

    # The lookup by the original message finds the first reply, read or not.
    found = await client.get(f"/v3/sms/inbound/{original['id'].lower()}")
    assert found.status_code == 200
    assert found.json()["data"]["message_id"] == first["id"]

    for missing in (
        await client.get("/v3/sms/inbound/00000000-0000-0000-0000-000000000000"),
        await client.put("/v3/sms/inbound-read/00000000-0000-0000-0000-000000000000"),
    ):
        assert missing.status_code == 404
        assert missing.json()["response_code"] == "NOT_FOUND"


async def test_inbound_is_private_to_the_account_and_to_a_subaccount_without_reporting(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings
) -> None:
    me = await owner(client, settings)
    clerk = await subaccount(client, me, "clerk", reporting=False)
    stranger = await other_account(engine_of(app))
    original = sms(me.account_id, me.user_id)
    mine = reply(me.account_id, me.user_id, original_message_id=original["id"])
    clerks = reply(me.account_id, clerk.user_id)
    await insert(engine_of(app), messages, original, mine, clerks)

    async with as_caller(app, clerk) as as_clerk, as_caller(app, stranger) as as_stranger:
        clerk_view = (await as_clerk.get("/v3/sms/inbound")).json()["data"]
        stranger_view = (await as_stranger.get("/v3/sms/inbound")).json()["data"]
        lookups = [
            await caller.get(f"/v3/sms/inbound/{original['id']}")
            for caller in (as_clerk, as_stranger)
        ]
        marks = [
            await caller.put(f"/v3/sms/inbound-read/{mine['id']}")
            for caller in (as_clerk, as_stranger)
        ]
        await as_stranger.put("/v3/sms/inbound-read")

    assert [m["message_id"] for m in clerk_view["data"]] == [clerks["id"]]
    assert stranger_view["total"] == 0
    assert [r.status_code for r in lookups + marks] == [404, 404, 404, 404]
    assert (await client.get("/v3/sms/inbound")).json()["data"]["total"] == 2


async def test_a_test_inbound_sms_is_posted_as_json_to_the_url_or_queued_for_poll(
    client: httpx.AsyncClient,
) -> None:
    with webhook_peer() as peer:
        response = await client.post("/v3/sms/inbound", json={"url": peer.url})
        peer.status = 404
        failing = await client.post("/v3/sms/inbound", json={"url": peer.url})

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["response_msg"] == "Here are your incoming messages."
    posted = peer.requests[0]["json"]
    assert posted["from"] == "+61468460249"
    assert posted["body"] == "This is a test incoming SMS."
    assert posted["original_body"] == "This is the original message."
    assert posted["_keyword"] == "this"
    assert isinstance(posted["timestamp"], int)
    assert body["data"]["timestamp_send"] == posted["timestamp"]
    assert {k: v for k, v in body["data"].items() if k != "timestamp_send"} == posted
    assert failing.status_code == 400
    assert "HTTP 404" in failing.json()["response_msg"]
    # A pushed test is not one of the account's inbound messages; one for `poll` is.
    assert (await client.get("/v3/sms/inbound")).json()["data"]["total"] == 0
    polled = await client.post("/v3/sms/inbound", json={"url": "POLL"})
    assert polled.status_code == 200
    listed = (await client.get("/v3/sms/inbound")).json()["data"]["data"]
    assert [m["message_id"] for m in listed] == [polled.json()["data"]["message_id"]]
    history = (await client.get("/v3/sms/history")).json()["data"]["data"]
    assert [(m["direction"], m["status"]) for m in history] == [("in", "Received")]


def test_the_sdk_reads_and_marks_inbound_into_its_models(
    live_server: Any, settings: Settings
) -> None:
    original = sms(1, 1, body="Question?")
    answer = reply(1, 1, body="Answer", original_message_id=original["id"], created_at=T0 + 1)
    other = reply(1, 1, body="Another", created_at=T0 + 2)
    asyncio.run(insert_into(settings.database_url, messages, original, answer, other))

    with sdk(live_server.url, settings) as api_client:
        api = clicksend.SmsApi(api_client)
        listed = api.view_inbound_sms(page=1, limit=15)
        one = api.view_a_specific_inbound_sms_message(original["id"])
        marked_one = api.mark_specific_inbound_sms_message_as_read(answer["id"])
        marked_all = api.mark_inbound_sms_as_read(
            mark_sms_receipt_as_read_request=clicksend.MarkSmsReceiptAsReadRequest(
                date_before=T0 + 60
            )
        )
        after = api.view_inbound_sms()
        test = api.create_test_inbound_sms(
            create_test_inbound_sms_request=clicksend.CreateTestInboundSmsRequest(url="poll")
        )

    assert isinstance(listed, clicksend.ViewInboundSms)
    assert listed.data is not None and listed.data.data is not None
    assert [m.body for m in listed.data.data] == ["Another", "Answer"]
    assert isinstance(listed.data.data[0], clicksend.InboundSms)
    assert listed.data.data[0].timestamp == T0 + 2
    assert isinstance(one, clicksend.ViewASpecificInboundSmsMessage)
    assert one.data is not None
    assert (one.data.original_body, one.data.keyword) == ("Question?", "answer")
    assert isinstance(marked_one, clicksend.MarkSpecificInboundSmsMessageAsRead)
    assert marked_one.data == 1
    assert isinstance(marked_all, clicksend.MarkInboundSmsAsRead)
    assert after.data is not None and after.data.total == 0
    assert isinstance(test, clicksend.CreateTestInboundSms)
    assert test.data is not None and test.data.var_from == "+61468460249"


async def test_a_date_before_that_is_no_number_marks_nothing_read(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings
) -> None:
    # Found by the contract run (tests/test_contract.py): `{"date_before": true}` was taken
    # for 1 and `null` for "everything", both with a 200.
    me = await owner(client, settings)
    await insert(engine_of(app), messages, reply(me.account_id, me.user_id, created_at=1000))

    values: list[Any] = [True, None, "1500", [], {}]
    for value in values:
        response = await client.put("/v3/sms/inbound-read", json={"date_before": value})
        assert response.status_code == 400, value
        assert "date_before" in response.json()["response_msg"]

    assert (await client.get("/v3/sms/inbound")).json()["data"]["total"] == 1
    assert (await client.put("/v3/sms/inbound-read", json={"date_before": 1500})).status_code == 200
    assert (await client.get("/v3/sms/inbound")).json()["data"]["total"] == 0
