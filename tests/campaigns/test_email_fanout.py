"""The email campaign fan-out: a worker dying mid-fan-out, resumed by another, leaves every
contact exactly one email and a charge equal to the price."""

from __future__ import annotations

import time
from collections import Counter

import httpx
import sqlalchemy as sa
from fastapi import FastAPI

from contacts_support import new_list
from dovecote.campaigns.email_fanout import run_due_campaigns
from dovecote.contacts.fields import FIELDS
from dovecote.storage.tables import accounts, contacts, messages
from email_support import add_address, balance, engine_of, owner_principal


async def fill(app: FastAPI, client: httpx.AsyncClient, count: int) -> int:
    list_id = await new_list(client)
    account_id = (await client.get("/v3/account")).json()["data"]["account"]
    now = int(time.time())
    rows = [
        {
            **{name: None for name in FIELDS},
            "email": f"p{n}@example.net",
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


async def test_a_worker_dying_mid_fan_out_leaves_every_contact_exactly_one_email(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    runtime = app.state.runtime
    engine = engine_of(app)
    me = await owner_principal(engine)
    address_id = await add_address(engine, me.account.id, me.user.id, "big@example.com")
    list_id = await fill(app, client, 250)
    body = {
        "list_id": list_id,
        "name": "Big",
        "subject": "Hi {first_name}",
        "body": "<p>Hello {first_name}</p>",
        "from_email_address_id": address_id,
    }
    price = (await client.post("/v3/email-campaigns/price", json=body)).json()["data"]
    before = await balance(engine)
    sent = await client.post("/v3/email-campaigns/send", json=body)
    campaign_id = sent.json()["data"]["data"]["email_campaign_id"]

    args = (runtime.engine, runtime.settings, runtime.events, runtime.prices)
    await run_due_campaigns(*args, owner="dead", batch=100, stop_after=1)
    halfway = (await client.get(f"/v3/email-campaigns/{campaign_id}")).json()["data"]
    assert (halfway["status"], halfway["_queued"]) == ("Sending", 100)
    await run_due_campaigns(*args, owner="alive", batch=100, now=time.time() + 121)

    async with engine.connect() as conn:
        recipients = Counter(
            (
                await conn.execute(
                    sa.select(messages.c.recipient).where(
                        messages.c.source == f"email-campaign:{campaign_id}"
                    )
                )
            ).scalars()
        )
    done = (await client.get(f"/v3/email-campaigns/{campaign_id}")).json()["data"]
    assert len(recipients) == 250 and set(recipients.values()) == {1}
    assert (done["status"], done["_queued"], done["_messages"]) == ("Sent", 250, {"queued": 250})
    assert price["total_count"] == 250
    assert done["_charged"] == price["total_price"]
    assert before - await balance(engine) == round(float(price["total_price"]) * 1_000_000)


async def test_a_campaign_out_of_credit_waits_then_resumes_after_a_top_up(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    runtime = app.state.runtime
    engine = engine_of(app)
    me = await owner_principal(engine)
    address_id = await add_address(engine, me.account.id, me.user.id, "poor@example.com")
    list_id = await fill(app, client, 3)
    body = {
        "list_id": list_id,
        "name": "Poor",
        "subject": "Hi",
        "body": "<p>Hello</p>",
        "from_email_address_id": address_id,
    }
    sent = await client.post("/v3/email-campaigns/send", json=body)
    campaign_id = sent.json()["data"]["data"]["email_campaign_id"]
    async with engine.begin() as conn:
        await conn.execute(
            accounts.update().where(accounts.c.id == me.account.id).values(balance_micros=1_500)
        )  # one email's worth
    args = (runtime.engine, runtime.settings, runtime.events, runtime.prices)

    assert await run_due_campaigns(*args) == 1
    waiting = (await client.get(f"/v3/email-campaigns/{campaign_id}")).json()["data"]
    assert (waiting["status"], waiting["_queued"]) == ("Sending", 0)
    assert await balance(engine) == 1_500  # the batch rolled back whole
    async with engine.begin() as conn:
        await conn.execute(
            accounts.update().where(accounts.c.id == me.account.id).values(balance_micros=10_000)
        )
    assert await run_due_campaigns(*args, now=time.time() + 31) == 1
    done = (await client.get(f"/v3/email-campaigns/{campaign_id}")).json()["data"]
    assert (done["status"], done["_queued"], done["_charged"]) == ("Sent", 3, "0.003000")
    assert await balance(engine) == 7_000
