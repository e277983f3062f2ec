"""`/v3/sms/receipts`: polling delivery receipts, read flags, test receipts."""

from __future__ import annotations

import asyncio
from typing import Any

import clicksend
import httpx
import pytest
from clicksend.exceptions import NotFoundException
from fastapi import FastAPI

from conftest import OWNER, OWNER_KEY
from dovecote.app import create_app
from dovecote.settings import Settings
from dovecote.storage.tables import events, messages
from sms_support import (
    T0,
    as_caller,
    dribble,
    insert,
    insert_into,
    other_account,
    owner,
    receipt,
    sdk,
    sms,
    subaccount,
    webhook_peer,
)


def engine_of(app: FastAPI) -> Any:
    return app.state.runtime.engine


async def test_receipts_list_unread_receipts_in_the_sdk_types_and_skip_other_events(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings
) -> None:
    me = await owner(client, settings)
    first = sms(me.account_id, me.user_id, custom_string="ref-1")
    second = sms(me.account_id, me.user_id, created_at=T0 + 100)
    failed = receipt(
        second, status_code=300, status_text="Failed", error_code=302, error_text="Rejected"
    )
    sent_event = {**receipt(first), "type": "sent", "data": {"attempt_num": 1}}
    await insert(engine_of(app), messages, first, second)
    await insert(engine_of(app), events, receipt(first), failed, sent_event)

    response = await client.get("/v3/sms/receipts")

    assert response.status_code == 200
    body = response.json()
    assert body["response_msg"] == "Here are your delivery receipts."
    page = body["data"]
    assert page["total"] == 2
    delivered, refused = page["data"]  # oldest first
    assert delivered == {
        "timestamp_send": T0,
        "timestamp": T0 + 5,
        "message_id": first["id"],
        "status_code": 201,
        "status_text": "Delivered",
        "error_code": None,
        "error_text": None,
        "custom_string": "ref-1",
        "subaccount_id": me.user_id,
        "message_type": "sms",
        "_message_type": "sms",
    }
    assert (refused["status_code"], refused["error_code"]) == (300, 302)


async def test_a_specific_receipt_is_the_latest_and_stays_readable_after_marking_read(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings
) -> None:
    me = await owner(client, settings)
    message = sms(me.account_id, me.user_id)
    await insert(engine_of(app), messages, message)
    await insert(
        engine_of(app),
        events,
        receipt(message, status_code=200, status_text="Sent to carrier", occurred_at=T0 + 1),
        receipt(message, occurred_at=T0 + 9),
    )

    marked = await client.put("/v3/sms/receipts-read")
    assert marked.status_code == 200
    assert marked.json()["data"] is None
    assert (await client.get("/v3/sms/receipts")).json()["data"]["total"] == 0

    found = await client.get(f"/v3/sms/receipts/{message['id'].lower()}")
    assert found.status_code == 200
    assert found.json()["response_msg"] == "Your receipt."
    assert found.json()["data"]["status_code"] == 201
    assert found.json()["data"]["timestamp"] == T0 + 9

    missing = await client.get("/v3/sms/receipts/00000000-0000-0000-0000-000000000000")
    assert missing.status_code == 404
    assert missing.json()["response_code"] == "NOT_FOUND"


async def test_marking_receipts_read_before_a_time_leaves_later_ones_unread(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings
) -> None:
    me = await owner(client, settings)
    early = sms(me.account_id, me.user_id, created_at=1000)
    late = sms(me.account_id, me.user_id, created_at=5000)
    await insert(engine_of(app), messages, early, late)
    await insert(engine_of(app), events, receipt(early), receipt(late))

    marked = await client.put("/v3/sms/receipts-read", json={"date_before": 3000})

    assert marked.status_code == 200
    left = (await client.get("/v3/sms/receipts")).json()["data"]["data"]
    assert [r["message_id"] for r in left] == [late["id"]]
    bad = await client.put("/v3/sms/receipts-read", json={"date_before": "soon"})
    assert bad.status_code == 400
    assert "date_before" in bad.json()["response_msg"]


async def test_receipts_are_private_to_the_account_and_to_a_subaccount_without_reporting(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings
) -> None:
    me = await owner(client, settings)
    clerk = await subaccount(client, me, "clerk", reporting=False)
    stranger = await other_account(engine_of(app))
    mine = sms(me.account_id, me.user_id)
    clerks = sms(me.account_id, clerk.user_id)
    await insert(engine_of(app), messages, mine, clerks)
    await insert(engine_of(app), events, receipt(mine), receipt(clerks))

    async with as_caller(app, clerk) as as_clerk, as_caller(app, stranger) as as_stranger:
        clerk_view = (await as_clerk.get("/v3/sms/receipts")).json()["data"]
        not_clerks = await as_clerk.get(f"/v3/sms/receipts/{mine['id']}")
        stranger_view = (await as_stranger.get("/v3/sms/receipts")).json()["data"]
        not_strangers = await as_stranger.get(f"/v3/sms/receipts/{mine['id']}")
        # Marking read only touches what the caller can see.
        await as_stranger.put("/v3/sms/receipts-read")
        await as_clerk.put("/v3/sms/receipts-read")

    assert [r["message_id"] for r in clerk_view["data"]] == [clerks["id"]]
    assert not_clerks.status_code == 404
    assert stranger_view["total"] == 0
    assert not_strangers.status_code == 404
    owner_view = (await client.get("/v3/sms/receipts")).json()["data"]
    assert [r["message_id"] for r in owner_view["data"]] == [mine["id"]]


async def test_a_test_receipt_is_posted_as_json_to_the_url_or_queued_for_poll(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    me = await owner(client, settings)
    with webhook_peer() as peer:
        response = await client.post("/v3/sms/receipts", json={"url": peer.url})

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["response_msg"] == "Receipt has been added"
    assert len(peer.requests) == 1
    posted = peer.requests[0]
    assert posted["path"] == "/hook"
    assert posted["content_type"] == "application/json"
    assert posted["json"] == body["data"]
    assert posted["json"]["status_code"] == 201
    assert posted["json"]["subaccount_id"] == me.user_id
    assert isinstance(posted["json"]["timestamp"], int)
    # A pushed test receipt is not one of the account's receipts; one for `poll` is.
    assert (await client.get("/v3/sms/receipts")).json()["data"]["total"] == 0
    polled = await client.post("/v3/sms/receipts", json={"url": "poll"})
    assert polled.status_code == 200
    listed = (await client.get("/v3/sms/receipts")).json()["data"]["data"]
    assert [r["message_id"] for r in listed] == [polled.json()["data"]["message_id"]]


async def test_a_test_receipt_to_a_bad_or_failing_url_is_a_clear_400(
    client: httpx.AsyncClient,
) -> None:
    with webhook_peer() as peer:
        peer.status = 500
        failing = await client.post("/v3/sms/receipts", json={"url": peer.url})
        closed_port = peer.url.replace("/hook", "").rsplit(":", 1)[0] + ":1/hook"
        unreachable = await client.post("/v3/sms/receipts", json={"url": closed_port})
    not_http = await client.post("/v3/sms/receipts", json={"url": "ftp://example.com/x"})
    missing = await client.post("/v3/sms/receipts", json={})

    assert failing.status_code == 400
    assert "HTTP 500" in failing.json()["response_msg"]
    assert unreachable.status_code == 400
    assert "Could not POST" in unreachable.json()["response_msg"]
    assert not_http.status_code == 400
    assert "http" in not_http.json()["response_msg"]
    assert missing.status_code == 400
    assert "url" in missing.json()["response_msg"]


def test_the_sdk_reads_and_marks_receipts_into_its_models(
    live_server: Any, settings: Settings
) -> None:
    message = sms(1, 1, custom_string="sdk")

    async def seed() -> None:
        await insert_into(settings.database_url, messages, message)
        await insert_into(settings.database_url, events, receipt(message))

    asyncio.run(seed())
    with sdk(live_server.url, settings) as api_client:
        api = clicksend.SmsApi(api_client)
        listed = api.view_sms_receipts(page=1, limit=15)
        one = api.view_specific_sms_receipt(message["id"])
        marked = api.mark_sms_receipt_as_read(
            mark_sms_receipt_as_read_request=clicksend.MarkSmsReceiptAsReadRequest(
                date_before=T0 + 60
            )
        )
        after = api.view_sms_receipts()
        test = api.create_test_sms_receipt(
            create_test_sms_receipt_request=clicksend.CreateTestSmsReceiptRequest(url="poll")
        )
        try:
            api.view_specific_sms_receipt("00000000-0000-0000-0000-000000000000")
            missing_raised = False
        except NotFoundException:
            missing_raised = True

    assert isinstance(listed, clicksend.ViewSmsReceipts)
    assert listed.data is not None and listed.data.data is not None
    only = listed.data.data[0]
    assert isinstance(only, clicksend.SmsReceipt)
    assert (only.message_id, only.status_code, only.custom_string) == (message["id"], 201, "sdk")
    assert isinstance(one, clicksend.ViewSpecificSmsReceipt)
    assert one.data is not None and one.data.timestamp == T0 + 5
    assert isinstance(marked, clicksend.MarkSmsReceiptAsRead)
    assert marked.http_code == 200
    assert after.data is not None and after.data.total == 0
    assert isinstance(test, clicksend.CreateTestSmsReceipt)
    assert test.data is not None and test.data.status_code == 201
    assert missing_raised


async def test_a_test_receipt_to_a_private_address_is_refused_when_private_webhooks_are_off(
    settings: Settings,
) -> None:

    application = create_app(settings.model_copy(update={"fetch_allow_private": False}))
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(
            transport=transport,
            base_url="http://testserver",
            auth=(str(settings.owner_username), str(settings.owner_api_key)),
        ) as http:
            with webhook_peer() as peer:
                response = await http.post("/v3/sms/receipts", json={"url": peer.url})

    assert response.status_code == 400
    assert "non-public address" in response.json()["response_msg"]
    assert peer.requests == []


async def test_a_slow_test_webhook_never_holds_the_database_from_other_callers(
    settings: Settings,
) -> None:
    # Issue #10.1: the POST held the request's (on SQLite: the only) connection, so every
    # other account's requests timed out behind one slow receiver.

    application = create_app(settings.model_copy(update={"fetch_timeout": 1.0}))
    server = await asyncio.start_server(dribble, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with application.router.lifespan_context(application):
            transport = httpx.ASGITransport(app=application)
            async with httpx.AsyncClient(
                transport=transport, base_url="http://testserver", auth=(OWNER, OWNER_KEY)
            ) as http:
                for path in ("/v3/sms/receipts", "/v3/sms/inbound"):
                    slow = asyncio.create_task(
                        http.post(path, json={"url": f"http://127.0.0.1:{port}/hook"})
                    )
                    await asyncio.sleep(0.3)  # it is waiting on the receiver now
                    assert not slow.done()
                    account = await asyncio.wait_for(http.get("/v3/account"), 0.5)
                    health = await asyncio.wait_for(http.get("/healthz"), 0.5)
                    assert (account.status_code, health.status_code) == (200, 200)
                    refused = await slow
                    assert refused.status_code == 400
                    assert "did not answer" in refused.json()["response_msg"]
    finally:
        server.close()


async def test_a_date_before_that_is_no_number_marks_nothing_read(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings
) -> None:
    # Found by the contract run (tests/test_contract.py): `{"date_before": true}` was taken
    # for 1 and `null` for "everything", both with a 200.
    me = await owner(client, settings)
    message = sms(me.account_id, me.user_id)
    await insert(engine_of(app), messages, message)
    await insert(engine_of(app), events, receipt(message))

    values: list[Any] = [True, None, "1500", [], {}]
    for value in values:
        response = await client.put("/v3/sms/receipts-read", json={"date_before": value})
        assert response.status_code == 400, value
        assert "date_before" in response.json()["response_msg"]

    assert (await client.get("/v3/sms/receipts")).json()["data"]["total"] == 1


@pytest.mark.parametrize("path", ["/v3/sms/receipts-read", "/v3/sms/inbound-read"])
async def test_a_null_body_is_refused_but_no_body_marks_everything_read(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings, path: str
) -> None:
    # Found by the contract run: a JSON `null` read as "no body" and marked all read.
    me = await owner(client, settings)
    message = sms(me.account_id, me.user_id)
    await insert(engine_of(app), messages, message)
    await insert(engine_of(app), events, receipt(message))

    refused = await client.put(path, content=b"null", headers={"content-type": "application/json"})
    assert refused.status_code == 400
    assert refused.json()["response_msg"] == "The body must be a JSON object, or left out."
    assert (await client.get("/v3/sms/receipts")).json()["data"]["total"] == 1

    assert (await client.put("/v3/sms/receipts-read")).status_code == 200
    assert (await client.get("/v3/sms/receipts")).json()["data"]["total"] == 0
