"""The SMS campaign fan-out: batches, a worker dying mid-fan-out, cancel mid-way."""

from __future__ import annotations

import time
from collections import Counter

import httpx
import sqlalchemy as sa
from fastapi import FastAPI

from contacts_support import new_list
from dovecote.contacts.fields import FIELDS
from dovecote.storage.tables import contacts, messages
from sms_support import fan_out


async def fill(app: FastAPI, client: httpx.AsyncClient, count: int) -> int:
    list_id = await new_list(client)
    account_id = (await client.get("/v3/account")).json()["data"]["account"]
    now = int(time.time())
    rows = [
        {
            **{name: None for name in FIELDS},
            "phone_number": f"+1415{2000000 + n}",
            "first_name": f"P{n}",
            "account_id": account_id,
            "list_id": list_id,
            "created_at": now,
            "updated_at": now,
        }
        for n in range(count)
    ]
    async with app.state.runtime.engine.begin() as conn:
        await conn.execute(contacts.insert(), rows)
    return list_id


async def balance(client: httpx.AsyncClient) -> float:
    return float((await client.get("/v3/account")).json()["data"]["balance"])


async def test_a_worker_dying_mid_fan_out_leaves_every_contact_exactly_one_message(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    runtime = app.state.runtime
    list_id = await fill(app, client, 2500)
    body = {"list_id": list_id, "name": "Big", "from": "Dovecote", "body": "Hi {first_name}"}
    price = (await client.post("/v3/sms-campaigns/price", json=body)).json()["data"]
    before = await balance(client)
    sent = await client.post("/v3/sms-campaigns/send", json=body)
    campaign_id = sent.json()["data"]["sms_campaign_id"]

    await fan_out(app, owner="dead", batch=1000, stop_after=1)
    halfway = (await client.get(f"/v3/sms-campaigns/{campaign_id}")).json()["data"]
    assert (halfway["status"], halfway["_queued"]) == ("Sending", 1000)
    await fan_out(app, owner="alive", batch=1000, now=time.time() + 121)

    async with runtime.engine.connect() as conn:
        recipients = Counter(
            (
                await conn.execute(
                    sa.select(messages.c.recipient).where(messages.c.list_id == list_id)
                )
            ).scalars()
        )
    done = (await client.get(f"/v3/sms-campaigns/{campaign_id}")).json()["data"]
    assert len(recipients) == 2500 and set(recipients.values()) == {1}
    assert (done["status"], done["_queued"], done["_messages"]) == ("Sent", 2500, {"queued": 2500})
    assert price["total_count"] == 2500
    assert done["_charged"] == price["total_price"]
    assert round(before - await balance(client), 6) == round(float(price["total_price"]), 6)


async def test_cancelling_mid_fan_out_stops_it_and_refunds_the_queued_messages(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    list_id = await fill(app, client, 30)
    before = await balance(client)
    sent = await client.post(
        "/v3/sms-campaigns/send",
        json={"list_id": list_id, "name": "C", "from": "Dovecote", "body": "Hello"},
    )
    campaign_id = sent.json()["data"]["sms_campaign_id"]
    await fan_out(app, owner="w", batch=10, stop_after=1)

    cancelled = await client.put(f"/v3/sms-campaigns/{campaign_id}/cancel")
    later = await fan_out(app, owner="w2", batch=10, now=time.time() + 121)

    assert cancelled.json()["data"]["status"] == "Cancelled"
    assert later == 0
    assert await balance(client) == before
    state = (await client.get(f"/v3/sms-campaigns/{campaign_id}")).json()["data"]
    assert state["_messages"] == {"cancelled": 10}
    again = await client.put(f"/v3/sms-campaigns/{campaign_id}/cancel")
    assert again.status_code == 400


async def test_a_campaign_whose_sender_was_deleted_is_cancelled_not_retried(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    list_id = await fill(app, client, 3)
    created = await client.post(
        "/v3/subaccounts",
        json={
            "api_username": "marketer",
            "password": "a-long-password",
            "email": "m@example.com",
            "phone_number": "+61411111111",
            "first_name": "M",
            "last_name": "K",
        },
    )
    sub = created.json()["data"]
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://testserver",
        auth=("marketer", sub["api_key"]),
    ) as marketer:
        sent = await marketer.post(
            "/v3/sms-campaigns/send", json={"list_id": list_id, "name": "M", "body": "Hi"}
        )
    assert sent.status_code == 200, sent.text
    assert (await client.delete(f"/v3/subaccounts/{sub['subaccount_id']}")).status_code == 200

    await fan_out(app)

    state = await client.get(f"/v3/sms-campaigns/{sent.json()['data']['sms_campaign_id']}")
    assert state.json()["data"]["status"] == "Cancelled"
    assert state.json()["data"]["_queued"] == 0
