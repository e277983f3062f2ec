"""`/v3/mms-campaigns`: the media fetched once, personalised subject and body, opt-outs
skipped, price equals charge, delivery through the sandbox, cancel refunds; SDK 6.0.2."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import clicksend
import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI

from contacts_support import add, new_list
from dispatch_support import deliver
from dovecote.settings import Settings
from dovecote.storage.tables import message_media, messages
from fetch_support import FileServer, file_server
from media_support import image
from sms_support import as_caller, fan_out, other_account, sdk


@pytest.fixture
def files() -> Iterator[FileServer]:
    with file_server() as server:
        yield server


async def balance(client: httpx.AsyncClient) -> float:
    return float((await client.get("/v3/account")).json()["data"]["balance"])


def local(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


async def test_a_campaign_fetches_once_personalises_skips_stop_and_charges_its_price(
    app: FastAPI,
    client: httpx.AsyncClient,
    anon: httpx.AsyncClient,
    files: FileServer,
    settings: Settings,
) -> None:
    photo = image("JPEG", (160, 120))
    url = files.serve("/photo.jpg", photo, "image/jpeg")
    list_id = await new_list(client)
    await add(client, list_id, phone_number="+14155552671", first_name="Ann")
    await add(client, list_id, phone_number="+14155552672", first_name="Bob")
    await add(client, list_id, phone_number="+14155552673", first_name="Cy")
    await add(client, list_id, email="nophone@example.com")
    stop = await client.post(
        "/sandbox/sms/inbound", json={"from": "+14155552672", "to": "Dovecote", "body": "STOP"}
    )
    assert stop.status_code == 200
    body = {
        "list_id": list_id,
        "name": "Photos",
        "from": "Dovecote",
        "subject": "For {first_name}",
        "body": "Hi {first_name}, look!",
        "media_file": url,
    }

    priced = await client.post("/v3/mms-campaigns/price", json=body)
    assert priced.status_code == 200, priced.text
    price = priced.json()["data"]
    before = await balance(client)
    sent = await client.post("/v3/mms-campaigns/send", json=body)
    assert sent.status_code == 200, sent.text
    campaign = sent.json()["data"]
    assert (campaign["status"], campaign["_list_name"], campaign["subject"]) == (
        "Queued",
        "Customers",
        "For {first_name}",
    )
    hits_at_creation = len(files.hits)
    assert await balance(client) == before
    assert await fan_out(app) == 1
    engine = app.state.runtime.engine
    await deliver(engine, settings)

    path = f"/v3/mms-campaigns/{campaign['mms_campaign_id']}"
    done = (await client.get(path)).json()["data"]
    assert price["total_count"] == 2 and float(price["total_price"]) > 0
    assert (done["status"], done["_queued"], done["_opted_out"]) == ("Sent", 2, 1)
    assert done["_charged"] == price["total_price"]
    assert round(before - await balance(client), 6) == round(float(price["total_price"]), 6)
    assert len(files.hits) == hits_at_creation == 2  # price and send; never the fan-out
    async with engine.connect() as conn:
        sent_rows = (
            (await conn.execute(sa.select(messages).where(messages.c.channel == "mms")))
            .mappings()
            .all()
        )
        media_rows = (await conn.execute(sa.select(message_media))).mappings().all()
    assert sorted((r["recipient"], r["subject"], r["body"]) for r in sent_rows) == [
        ("+14155552671", "For Ann", "Hi Ann, look!"),
        ("+14155552673", "For Cy", "Hi Cy, look!"),
    ]
    assert all(r["status"] != "queued" for r in sent_rows)  # the sandbox took them
    assert {r["message_id"] for r in media_rows} == {r["id"] for r in sent_rows}
    assert {r["file_key"] for r in media_rows} == {f"mms/{done['file_name']}"}
    assert (await anon.get(local(done["_media_file_url"]))).content == photo
    history = (await client.get("/v3/mms/history")).json()["data"]["data"]
    assert sorted(e["subject"] for e in history) == ["For Ann", "For Cy"]
    listed = (await client.get("/v3/mms-campaigns")).json()["data"]
    assert [c["mms_campaign_id"] for c in listed["data"]] == [campaign["mms_campaign_id"]]
    assert (await client.get("/v3/sms-campaigns")).json()["data"]["total"] == 0


async def test_cancel_mid_campaign_refunds_what_is_still_queued(
    app: FastAPI, client: httpx.AsyncClient, files: FileServer
) -> None:
    url = files.serve("/a.gif", image("GIF"), "image/gif")
    list_id = await new_list(client)
    for n in range(3):
        await add(client, list_id, phone_number=f"+1415555267{n}")
    body = {"list_id": list_id, "name": "N", "subject": "S", "body": "B", "media_file": url}
    before = await balance(client)
    sent = (await client.post("/v3/mms-campaigns/send", json=body)).json()["data"]
    claimed = await fan_out(app, batch=2, stop_after=1)
    assert claimed == 1
    assert await balance(client) < before  # the first batch is charged and queued

    path = f"/v3/mms-campaigns/{sent['mms_campaign_id']}"
    cancelled = await client.put(f"{path}/cancel")
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["data"]["status"] == "Cancelled"
    assert await balance(client) == before
    assert await fan_out(app, now=time.time() + 1000) == 0
    counts = (await client.get(path)).json()["data"]["_messages"]
    assert counts == {"cancelled": 2}
    assert (await client.put(f"{path}/cancel")).status_code == 400


async def test_a_scheduled_campaign_changes_its_media_and_text_before_it_starts(
    client: httpx.AsyncClient, files: FileServer
) -> None:
    first = files.serve("/a.jpg", image("JPEG"), "image/jpeg")
    second = files.serve("/b.gif", image("GIF"), "image/gif")
    list_id = await new_list(client)
    later = int(time.time()) + 3600
    body = {"list_id": list_id, "name": "L", "subject": "S", "body": "B", "media_file": first}
    sent = await client.post(
        "/v3/mms-campaigns/send",
        json={**body, "schedule": later, "url_to_shorten": "https://shop.example/"},
    )
    campaign = sent.json()["data"]
    assert campaign["body"] == "B"  # no link tracking for MMS: no mark added
    assert (campaign["status"], campaign["file_name"].endswith(".jpg")) == ("Scheduled", True)

    path = f"/v3/mms-campaigns/{campaign['mms_campaign_id']}"
    changed = await client.put(path, json={"media_file": second, "subject": "New {first_name}"})
    assert changed.status_code == 200, changed.text
    data = changed.json()["data"]
    assert (data["subject"], data["schedule"]) == ("New {first_name}", later)
    assert data["file_name"].endswith(".gif")


async def test_bad_campaigns_are_refused_before_anything_is_fetched_or_stored(
    app: FastAPI, client: httpx.AsyncClient, files: FileServer
) -> None:
    url = files.serve("/a.jpg", image("JPEG"), "image/jpeg")
    png = files.serve("/a.png", image("PNG"), "image/png")
    list_id = await new_list(client)
    base = {"list_id": list_id, "name": "N", "subject": "S", "body": "B", "media_file": url}
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({**base, "subject": ""}, 400, "subject"),
        ({**base, "subject": "{nope}"}, 400, "{nope}"),
        ({**base, "body": "Hi {frist_name}"}, 400, "{frist_name}"),
        ({**base, "media_file": None}, 400, "media_file"),
        ({**base, "list_id": "x"}, 400, "list_id"),
        ({**base, "list_id": 999999}, 404, "List"),
        ({**base, "media_file": png}, 400, "media_file"),
    ]
    for path in ("/v3/mms-campaigns/send", "/v3/mms-campaigns/price"):
        for body, status, field in cases:
            response = await client.post(path, json=body)
            assert response.status_code == status, (path, body, response.text)
            assert field in response.json()["response_msg"], (path, body)
    assert (await client.get("/v3/mms-campaigns")).json()["data"]["total"] == 0
    assert set(files.hits) <= {"/a.jpg", "/a.png"}

    sent = await client.post("/v3/mms-campaigns/send", json=base)
    path = f"/v3/mms-campaigns/{sent.json()['data']['mms_campaign_id']}"
    stranger = await other_account(app.state.runtime.engine)
    async with as_caller(app, stranger) as other:
        answers = [await other.get(path), await other.put(f"{path}/cancel")]
    assert [a.status_code for a in answers] == [404, 404]
    assert (await client.get(f"/v3/sms-campaigns/{path.rsplit('/', 1)[1]}")).status_code == 404


async def test_without_access_mms_a_subaccount_is_refused(
    app: FastAPI, client: httpx.AsyncClient, files: FileServer
) -> None:
    created = await client.post(
        "/v3/subaccounts",
        json={
            "api_username": "nomms",
            "password": "a-long-password",
            "email": "nomms@example.com",
            "phone_number": "+61411111111",
            "first_name": "No",
            "last_name": "Mms",
            "access_mms": 0,
        },
    )
    key = created.json()["data"]["api_key"]
    url = files.serve("/a.jpg", image("JPEG"), "image/jpeg")
    list_id = await new_list(client)
    body = {"list_id": list_id, "name": "N", "subject": "S", "body": "B", "media_file": url}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver", auth=("nomms", key)
    ) as http:
        answers = [
            await http.post("/v3/mms-campaigns/send", json=body),
            await http.get("/v3/mms-campaigns"),
        ]
    assert [a.status_code for a in answers] == [403, 403]
    assert files.hits == []


def test_sdk6_round_trips_mms_campaigns(live_server: Any, settings: Settings) -> None:
    with file_server() as served:
        url = served.serve("/p.jpg", image("JPEG"), "image/jpeg")
        with sdk(live_server.url, settings) as api_client:
            lists = clicksend.ListsApi(api_client)
            created = lists.create_list(
                create_list_request=clicksend.CreateListRequest(list_name="M")
            )
            assert created.data is not None and created.data.list_id is not None
            list_id = created.data.list_id
            lists.create_new_contact(
                str(list_id),
                create_new_contact_request=clicksend.CreateNewContactRequest(
                    phone_number="+14155552671"
                ),
            )
            api = clicksend.MmsCampaignsApi(api_client)
            fields = {"list_id": list_id, "name": "M", "from": "Dovecote", "body": "Hello"}
            priced = api.calculate_mms_campaign_price(
                body={**fields, "subject": "S", "media_file": url}
            )
            sent = api.send_mms_campaign(
                send_mms_campaign_request=clicksend.SendMmsCampaignRequest.from_dict(
                    {**fields, "list_id": str(list_id), "subject": "S", "media_file": url}
                )
            )
            assert sent.data is not None and sent.data.mms_campaign_id is not None
            campaign_id = str(sent.data.mms_campaign_id)
            # SDK 6.0.2's ViewAllMmsCampaigns reads the page at the top level, without
            # ClickSend's envelope (its SMS twin, ViewSmsCampaigns, has it): Dovecote answers
            # in the envelope like every other list, so the raw answer is checked here.
            listed = json.loads(api.view_all_mms_campaigns_without_preload_content().data)
            one = api.view_mms_campaign(campaign_id)
            updated = api.update_mms_campaign(
                campaign_id,
                calculate_sms_campaign_price_request=clicksend.CalculateSmsCampaignPriceRequest(
                    list_id=str(list_id), name="M2", var_from="Dovecote", body="Hello again"
                ),
            )
            cancelled = api.cancel_mms_campaign(campaign_id)

    assert isinstance(priced, clicksend.CalculateMmsCampaignPrice)
    assert priced.data is not None and priced.data.total_count == 1
    assert isinstance(sent, clicksend.SendMmsCampaign) and sent.data.status == "Queued"
    page = clicksend.ViewAllMmsCampaigns.from_dict(listed["data"])
    assert page is not None and page.data and page.data[0].mms_campaign_id == int(campaign_id)
    assert isinstance(one, clicksend.ViewMmsCampaign) and one.data
    assert one.data.list_id == list_id and one.data.subject == "S"
    assert one.data.media_file_url
    assert isinstance(updated, clicksend.UpdateMmsCampaign) and updated.data
    assert (updated.data.name, updated.data.body) == ("M2", "Hello again")
    assert isinstance(cancelled, clicksend.CancelMmsCampaign) and cancelled.data
    assert cancelled.data.status == "Cancelled"
