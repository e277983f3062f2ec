"""`/v3/sms-campaigns`: price equals charge, opt-outs skipped, schedule, update, cancel;
SDK 6.0.2 round trip."""

from __future__ import annotations

import ast
import importlib
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import clicksend
import httpx
from fastapi import FastAPI

from contacts_support import add, new_list
from dovecote.settings import Settings
from sms_support import as_caller, fan_out, other_account, sdk

SDK5_PATH = Path(__file__).resolve().parents[3] / ".venv" / "sdk5"


async def balance(client: httpx.AsyncClient) -> float:
    return float((await client.get("/v3/account")).json()["data"]["balance"])


async def test_a_campaign_skips_a_number_that_replied_stop_and_charges_its_price(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    list_id = await new_list(client)
    await add(client, list_id, phone_number="+14155552671", first_name="Ann")
    await add(client, list_id, phone_number="+14155552672", first_name="Bob")
    await add(client, list_id, phone_number="+447911123456", first_name="Cy")
    await add(client, list_id, email="nophone@example.com")
    stop = await client.post(
        "/sandbox/sms/inbound", json={"from": "+14155552672", "to": "Dovecote", "body": "STOP"}
    )
    assert stop.status_code == 200
    body = {"list_id": list_id, "name": "Spring", "from": "Dovecote", "body": "Hi {first_name}!"}

    price = (await client.post("/v3/sms-campaigns/price", json=body)).json()["data"]
    before = await balance(client)
    sent = await client.post("/v3/sms-campaigns/send", json=body)
    assert sent.status_code == 200, sent.text
    campaign = sent.json()["data"]
    assert (campaign["status"], campaign["name"], campaign["list_name"]) == (
        "Queued",
        "Spring",
        "Customers",
    )
    assert await balance(client) == before  # charged by the fan-out, batch by batch
    assert await fan_out(app) == 1

    done = (await client.get(f"/v3/sms-campaigns/{campaign['sms_campaign_id']}")).json()["data"]
    history = (await client.get("/v3/sms/history")).json()["data"]["data"]
    assert price["total_count"] == 2
    assert float(price["total_price"]) > 0
    assert (done["status"], done["_queued"], done["_opted_out"]) == ("Sent", 2, 1)
    assert done["_charged"] == price["total_price"]
    assert round(before - await balance(client), 6) == round(float(price["total_price"]), 6)
    outbound = [m for m in history if m["direction"] == "out"]
    assert sorted(m["body"] for m in outbound) == ["Hi Ann!", "Hi Cy!"]
    assert "+14155552672" not in {m["to"] for m in outbound}
    listed = (await client.get("/v3/sms-campaigns")).json()["data"]
    assert [c["sms_campaign_id"] for c in listed["data"]] == [campaign["sms_campaign_id"]]


async def test_a_scheduled_campaign_can_be_changed_then_cancelled_for_nothing(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    list_id = await new_list(client)
    await add(client, list_id, phone_number="+14155552671")
    later = int(time.time()) + 3600
    sent = await client.post(
        "/v3/sms-campaigns/send",
        json={"list_id": list_id, "name": "Later", "body": "Hello", "schedule": later},
    )
    campaign_id = sent.json()["data"]["sms_campaign_id"]
    assert sent.json()["data"]["status"] == "Scheduled"
    assert await fan_out(app) == 0  # not due yet

    changed = await client.put(
        f"/v3/sms-campaigns/{campaign_id}", json={"body": "Hello {first_name}"}
    )
    assert changed.json()["data"]["body"] == "Hello {first_name}"
    assert changed.json()["data"]["schedule"] == later
    before = await balance(client)
    cancelled = await client.put(f"/v3/sms-campaigns/{campaign_id}/cancel")
    assert cancelled.json()["data"]["status"] == "Cancelled"
    assert await fan_out(app, now=later + 1) == 0
    assert await balance(client) == before
    refused = await client.put(f"/v3/sms-campaigns/{campaign_id}", json={"body": "x"})
    assert refused.status_code == 400


async def test_bad_campaigns_are_refused_with_the_field_named(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    list_id = await new_list(client)
    base = {"list_id": list_id, "name": "N", "body": "B"}
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({**base, "body": "Hi {frist_name}"}, 400, "{frist_name}"),
        ({**base, "name": ""}, 400, "name"),
        ({**base, "body": None}, 400, "body"),
        ({**base, "list_id": "x"}, 400, "list_id"),
        ({**base, "list_id": 999999}, 404, "List"),
        ({**base, "from": "has spaces!"}, 400, "from"),
        ({**base, "schedule": "never"}, 400, "schedule"),
        ({**base, "senders": [{"recipient_country_code": "USA"}]}, 400, "senders"),
    ]
    for path in ("/v3/sms-campaigns/send", "/v3/sms-campaigns/price"):
        for body, status, field in cases:
            response = await client.post(path, json=body)
            assert response.status_code == status, (path, body, response.text)
            assert field in response.json()["response_msg"], (path, body)
    assert (await client.get("/v3/sms-campaigns")).json()["data"]["total"] == 0

    sent = await client.post("/v3/sms-campaigns/send", json=base)
    path = f"/v3/sms-campaigns/{sent.json()['data']['sms_campaign_id']}"
    stranger = await other_account(app.state.runtime.engine)
    async with as_caller(app, stranger) as other:
        answers = [await other.get(path), await other.put(f"{path}/cancel")]
    assert [a.status_code for a in answers] == [404, 404]


def test_sdk6_round_trips_sms_campaigns(live_server: Any, settings: Settings) -> None:
    with sdk(live_server.url, settings) as api_client:
        lists = clicksend.ListsApi(api_client)
        created = lists.create_list(create_list_request=clicksend.CreateListRequest(list_name="C"))
        assert created.data is not None and created.data.list_id is not None
        list_id = created.data.list_id
        lists.create_new_contact(
            str(list_id),
            create_new_contact_request=clicksend.CreateNewContactRequest(
                phone_number="+14155552671"
            ),
        )
        api = clicksend.SmsCampaignsApi(api_client)
        priced = api.calculate_sms_campaign_price(
            calculate_sms_campaign_price_request=clicksend.CalculateSmsCampaignPriceRequest(
                list_id=str(list_id), name="S", var_from="Dovecote", body="Hello"
            )
        )
        request = clicksend.SendSmsCampaignRequest(
            list_id=list_id,
            name="S",
            var_from="Dovecote",
            body="Hello",
            schedule=int(time.time()) + 3600,
            senders=[clicksend.SendersInner(recipient_country_code="US", sender_id="Dovecote")],
        )
        sent = api.send_sms_campaign(send_sms_campaign_request=request)
        assert sent.data is not None and sent.data.sms_campaign_id is not None
        campaign_id = str(sent.data.sms_campaign_id)
        listed = api.view_sms_campaigns()
        one = api.view_specific_sms_campaign(campaign_id)
        updated = api.update_sms_campaign(
            campaign_id,
            calculate_sms_campaign_price_request=clicksend.CalculateSmsCampaignPriceRequest(
                list_id=str(list_id), name="S2", var_from="Dovecote", body="Hello again"
            ),
        )
        cancelled = api.cancel_sms_campaign(campaign_id)

    assert isinstance(priced, clicksend.CalculateSmsCampaignPrice)
    assert priced.data is not None and priced.data.total_count == 1
    assert isinstance(sent, clicksend.SendSmsCampaign) and sent.data.status == "Scheduled"
    assert isinstance(listed, clicksend.ViewSmsCampaigns) and listed.data and listed.data.data
    assert (
        isinstance(one, clicksend.ViewSpecificSmsCampaign)
        and one.data
        and one.data.list_id == list_id
    )
    assert (
        isinstance(updated, clicksend.UpdateSmsCampaign)
        and updated.data
        and updated.data.name == "S2"
    )
    assert isinstance(cancelled, clicksend.CancelSmsCampaign) and cancelled.data
    assert cancelled.data.status == "Cancelled"


def test_sdk5_round_trips_sms_campaigns(live_server: Any, settings: Settings) -> None:
    if str(SDK5_PATH) not in sys.path:
        sys.path.insert(0, str(SDK5_PATH))
    sdk5: ModuleType = importlib.import_module("clicksend_client")
    config = sdk5.Configuration()
    config.host = live_server.url + "/v3"
    config.username = settings.owner_username
    config.password = settings.owner_api_key
    client = sdk5.ApiClient(config)
    lists = sdk5.ContactListApi(client)
    created = ast.literal_eval(lists.lists_post(sdk5.ContactList(list_name="Five")))
    list_id = created["data"]["list_id"]
    sdk5.ContactApi(client).lists_contacts_by_list_id_post(
        sdk5.Contact(phone_number="+14155552671", custom_1=""), list_id
    )
    api = sdk5.SmsCampaignApi(client)
    campaign = sdk5.SmsCampaign(list_id=list_id, name="Five", body="Hello", _from="Dovecote")

    priced = ast.literal_eval(api.sms_campaigns_price_post(campaign))
    sent = ast.literal_eval(api.sms_campaigns_send_post(campaign))
    campaign_id = sent["data"]["sms_campaign_id"]
    one = ast.literal_eval(api.sms_campaign_by_sms_campaign_id_get(campaign_id))
    listed = ast.literal_eval(api.sms_campaigns_get())
    cancelled = ast.literal_eval(api.sms_campaigns_cancel_by_sms_campaign_id_put(campaign_id))

    assert priced["data"]["total_count"] == 1
    assert sent["data"]["status"] == "Queued"
    assert one["data"]["name"] == "Five"
    assert listed["data"]["total"] == 1
    assert cancelled["data"]["status"] == "Cancelled"
