"""SMS to a contact list (`list_id`): one personalised message per contact; opted-out
numbers skipped and never charged; an inbound STOP opts a number out end to end."""

from __future__ import annotations

from typing import Any

import clicksend
import httpx
from fastapi import FastAPI

from contacts_support import add, new_list
from dovecote.settings import Settings
from dovecote.storage.tables import accounts
from sms_support import as_caller, other_account, sdk


async def balance(client: httpx.AsyncClient) -> float:
    return float((await client.get("/v3/account")).json()["data"]["balance"])


async def send(client: httpx.AsyncClient, *messages: dict[str, Any]) -> httpx.Response:
    return await client.post("/v3/sms/send", json={"messages": list(messages)})


async def test_a_list_send_reaches_each_contact_with_a_personalised_body(
    client: httpx.AsyncClient,
) -> None:
    list_id = await new_list(client)
    ann = await add(client, list_id, phone_number="+14155552671", first_name="Ann", custom_1="7")
    bob = await add(client, list_id, phone_number="+14155552672", first_name="Bob")
    await add(client, list_id, email="nophone@example.com", first_name="Eve")

    response = await send(
        client, {"list_id": list_id, "body": "Hi {first_name}, you have {custom1} points"}
    )

    assert response.status_code == 200, response.text
    messages = response.json()["data"]["messages"]
    assert [(m["to"], m["body"], m["contact_id"]) for m in messages] == [
        ("+14155552671", "Hi Ann, you have 7 points", str(ann["contact_id"])),
        ("+14155552672", "Hi Bob, you have  points", str(bob["contact_id"])),
    ]
    assert {m["status"] for m in messages} == {"SUCCESS"}
    assert {m["list_id"] for m in messages} == {str(list_id)}
    assert response.json()["data"]["queued_count"] == 2


async def test_an_unknown_placeholder_is_a_clear_400_and_nothing_is_sent(
    client: httpx.AsyncClient,
) -> None:
    list_id = await new_list(client)
    await add(client, list_id, phone_number="+14155552671", first_name="Ann")
    before = await balance(client)

    response = await send(client, {"list_id": list_id, "body": "Hi {frist_name}"})

    assert response.status_code == 400
    assert "{frist_name}" in response.json()["response_msg"]
    assert await balance(client) == before
    history = (await client.get("/v3/sms/history")).json()["data"]
    assert history["total"] == 0


async def test_a_list_the_caller_may_not_send_to_keeps_the_permission_status(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    list_id = await new_list(client)
    await add(client, list_id, phone_number="+14155552671")
    stranger = await other_account(app.state.runtime.engine)

    async with as_caller(app, stranger) as other:
        response = await send(other, {"list_id": list_id, "body": "Hello"})
    missing = await send(client, {"list_id": 999999, "body": "Hello"})

    assert response.json()["data"]["messages"][0]["status"] == "NOT_ENOUGH_PERMISSION_TO_LIST_ID"
    assert missing.json()["data"]["messages"][0]["status"] == "NOT_ENOUGH_PERMISSION_TO_LIST_ID"


async def test_an_empty_list_and_a_list_too_big_for_one_request_are_refused(
    client: httpx.AsyncClient,
) -> None:
    empty = await new_list(client, "Empty")
    response = await send(client, {"list_id": empty, "body": "Hello"})
    assert response.status_code == 400
    assert "no contact with a phone number" in response.json()["response_msg"]

    small = await new_list(client, "Small")
    await add(client, small, phone_number="+14155552671")
    await add(client, small, phone_number="+14155552672")
    singles = [{"to": f"+1415555{n:04d}", "body": "x"} for n in range(1000, 1999)]
    fits = await client.post(
        "/v3/sms/price", json={"messages": [*singles[:998], {"list_id": small, "body": "Hi"}]}
    )
    assert fits.status_code == 200
    assert len(fits.json()["data"]["messages"]) == 1000
    over = await send(client, *singles, {"list_id": small, "body": "Hello"})
    assert over.status_code == 400
    assert over.json()["response_code"] == "TOO_MANY_RECIPIENTS"
    assert "List #" in over.json()["response_msg"]


async def test_a_stop_reply_opts_the_number_out_of_later_sends_uncharged(
    client: httpx.AsyncClient,
) -> None:
    list_id = await new_list(client)
    await add(client, list_id, phone_number="+14155552671", first_name="Ann")
    await add(client, list_id, phone_number="+14155552672", first_name="Bob")

    reply = await client.post(
        "/sandbox/sms/inbound", json={"from": "+14155552671", "to": "Dovecote", "body": "Stop"}
    )
    assert reply.status_code == 200, reply.text
    chatter = await client.post(
        "/sandbox/sms/inbound",
        json={"from": "+14155552672", "to": "Dovecote", "body": "Stop by at 5?"},
    )
    assert chatter.status_code == 200
    before = await balance(client)
    response = await send(
        client,
        {"list_id": list_id, "body": "Sale today"},
        {"to": "+14155552671", "body": "Direct"},
    )

    statuses = [(m["to"], m["status"]) for m in response.json()["data"]["messages"]]
    assert statuses == [
        ("+14155552671", "OPTED_OUT"),
        ("+14155552672", "SUCCESS"),
        ("+14155552671", "OPTED_OUT"),
    ]
    data = response.json()["data"]
    assert data["queued_count"] == 1 and data["blocked_count"] == 2
    assert round(before - await balance(client), 6) == data["total_price"]
    lists = (await client.get("/v3/lists")).json()["data"]["data"]
    opt_out = [x for x in lists if x["list_name"] == "Opt-Out List"]
    assert len(opt_out) == 1 and opt_out[0]["_contacts_count"] == 1
    price = await client.post(
        "/v3/sms/price", json={"messages": [{"to": "+14155552671", "body": "x"}]}
    )
    assert price.json()["data"]["messages"][0]["status"] == "OPTED_OUT"
    assert price.json()["data"]["total_price"] == 0

    again = await client.post(
        "/sandbox/sms/inbound", json={"from": "+14155552671", "to": "Dovecote", "body": "STOP"}
    )
    assert again.status_code == 200
    removed = await client.put(
        f"/v3/lists/{list_id}/remove-opted-out-contacts/{opt_out[0]['list_id']}"
    )
    assert removed.json()["data"] == {"deleted": 1}
    assert (await client.get(f"/v3/lists/{opt_out[0]['list_id']}")).json()["data"][
        "_contacts_count"
    ] == 1


def test_sdk6_sends_to_a_list(live_server: Any, settings: Settings) -> None:
    with sdk(live_server.url, settings) as api_client:
        lists = clicksend.ListsApi(api_client)
        created = lists.create_list(create_list_request=clicksend.CreateListRequest(list_name="L"))
        assert created.data is not None and created.data.list_id is not None
        request = clicksend.CreateNewContactRequest(phone_number="+14155552671", first_name="Ann")
        lists.create_new_contact(str(created.data.list_id), create_new_contact_request=request)
        message = clicksend.SendSmsRequestMessagesInner(
            list_id=str(created.data.list_id), body="Hi {first_name}", var_from="Dovecote"
        )
        result = clicksend.SmsApi(api_client).send_sms(
            send_sms_request=clicksend.SendSmsRequest(messages=[message])
        )

    assert result.data is not None and result.data.messages is not None
    assert [(m.to, m.body, m.status) for m in result.data.messages] == [
        ("+14155552671", "Hi Ann", "SUCCESS")
    ]


async def test_an_account_with_its_own_keywords_is_opted_out_by_those_only(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    account_id = (await client.get("/v3/account")).json()["data"]["account"]
    async with app.state.runtime.engine.begin() as conn:
        await conn.execute(
            accounts.update()
            .where(accounts.c.id == account_id)
            .values(settings={"sms_opt_out_keywords": ["ARRET"]})
        )
    for sender, body in (("+14155552671", "stop"), ("+14155552672", "Arret!")):
        reply = await client.post(
            "/sandbox/sms/inbound", json={"from": sender, "to": "Dovecote", "body": body}
        )
        assert reply.status_code == 200

    response = await send(
        client, {"to": "+14155552671", "body": "One"}, {"to": "+14155552672", "body": "Two"}
    )

    statuses = [m["status"] for m in response.json()["data"]["messages"]]
    assert statuses == ["SUCCESS", "OPTED_OUT"]
