"""`/v3/email-campaigns`: personalised emails delivered through the sandbox, price equals
charge, one-click unsubscribe (RFC 8058) suppresses the next campaign, cancel refunds,
history and its export, isolation and permissions; SDK 6.0.2 and 5.0.91 round trips."""

from __future__ import annotations

import ast
import asyncio
import csv
import importlib
import io
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

import clicksend
import httpx
import sqlalchemy as sa
from fastapi import FastAPI

from contacts_support import add, new_list
from dispatch_support import deliver
from dovecote.campaigns.email_fanout import run_due_campaigns
from dovecote.channels.email import store as email_store
from dovecote.settings import Settings
from dovecote.storage.db import create_engine
from dovecote.storage.tables import events, messages, suppressions
from email_support import add_address, balance, engine_of, owner_principal, parse, select
from sms_support import as_caller, other_account, sdk

SDK5_PATH = Path(__file__).resolve().parents[3] / ".venv" / "sdk5"
UNIT = 1_000  # the packaged USD email price, 0.0010, in micro-units


async def sender_id(app: FastAPI, address: str = "news@example.com", verified: bool = True) -> int:
    engine = engine_of(app)
    me = await owner_principal(engine)
    return await add_address(engine, me.account.id, me.user.id, address, verified=verified)


async def fan_out(app: FastAPI, **options: Any) -> int:
    runtime = app.state.runtime
    return await run_due_campaigns(
        runtime.engine, runtime.settings, runtime.events, runtime.prices, **options
    )


def campaign_body(list_id: int, address_id: int, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "list_id": list_id,
        "name": "Spring",
        "subject": "News for {first_name}",
        "body": "<p>Hi {first_name} {last_name}!</p>",
        "from_email_address_id": address_id,
        "from_name": "Dovecote News",
    }
    body.update(changes)
    return body


async def mime_of(app: FastAPI, message_id: str) -> Any:
    async with engine_of(app).connect() as conn:
        raw = await email_store.captured_content(conn, message_id)
    assert raw is not None
    return parse(raw)


async def test_a_campaign_is_personalised_delivered_and_one_click_unsubscribes(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings
) -> None:
    address_id = await sender_id(app)
    list_id = await new_list(client)
    await add(client, list_id, email="ann@example.net", first_name="Ann", last_name="<b>A</b>")
    await add(client, list_id, email="bob@example.net", first_name="Bob")
    await add(client, list_id, phone_number="+14155552671", first_name="NoMail")
    engine = engine_of(app)
    body = campaign_body(list_id, address_id)

    price = (await client.post("/v3/email-campaigns/price", json=body)).json()["data"]
    before = await balance(engine)
    sent = await client.post("/v3/email-campaigns/send", json=body)
    assert sent.status_code == 200, sent.text
    created = sent.json()["data"]
    campaign_id = created["data"]["email_campaign_id"]
    assert (created["data"]["status"], created["total_price"]) == ("Queued", price["total_price"])
    assert await balance(engine) == before  # charged by the fan-out
    assert await fan_out(app) == 1
    assert await deliver(engine, settings) == 2

    done = (await client.get(f"/v3/email-campaigns/{campaign_id}")).json()["data"]
    assert (price["total_count"], price["total_price"]) == (2, "0.002000")
    assert (done["status"], done["_queued"], done["_charged"]) == ("Sent", 2, "0.002000")
    assert before - await balance(engine) == 2 * UNIT
    history = (await client.get(f"/v3/email-campaigns/{campaign_id}/history")).json()["data"]
    assert sorted((h["to_address"], h["status"]) for h in history["data"]) == [
        ("ann@example.net", "Delivered"),
        ("bob@example.net", "Delivered"),
    ]
    by_address = {h["to_address"]: h["message_id"] for h in history["data"]}
    ann = await mime_of(app, by_address["ann@example.net"])
    assert ann["Subject"] == "News for Ann"
    html = ann.get_body(("html",)).get_content()
    assert "Hi Ann &lt;b&gt;A&lt;/b&gt;!" in html  # contact fields are escaped in HTML
    assert ann["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    link = str(ann["List-Unsubscribe"]).strip().removeprefix("<").removesuffix(">")
    assert link.startswith("http") and "/v3/email-unsubscribe?" in link
    bob = await mime_of(app, by_address["bob@example.net"])
    assert "Hi Bob !" in bob.get_body(("html",)).get_content()

    url = urlsplit(link)
    target = f"{url.path}?{url.query}"
    forged = await client.post(target.replace("ann%40", "bob%40"), content=b"")
    page = await client.get(target)
    assert (forged.status_code, page.status_code) == (404, 200)
    assert await select(engine, sa.select(suppressions)) == []  # a GET never unsubscribes
    async with httpx.AsyncClient(  # the mail client: no credentials, the link signs it
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as anonymous:
        one_click = await anonymous.post(
            target,
            content=b"List-Unsubscribe=One-Click",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
    assert one_click.status_code == 200
    [suppressed] = await select(engine, sa.select(suppressions))
    assert (suppressed["email"], suppressed["reason"]) == ("ann@example.net", "unsubscribe")
    me = await owner_principal(engine)
    async with engine.begin() as conn:  # Ann opened it (as the open pixel records it)
        await conn.execute(
            events.insert().values(
                message_id=by_address["ann@example.net"], account_id=me.account.id,
                user_id=me.user.id, channel="email", type="open", occurred_at=time.time(),
            )
        )  # fmt: skip
    counted = (await client.get(f"/v3/email-campaigns/{campaign_id}")).json()["data"]
    assert (counted["open_count"], counted["unsubscribe_count"]) == (1, 1)
    listed = (await client.get("/v3/email-campaigns")).json()["data"]["data"]
    assert [(c["email_campaign_id"], c["open_count"]) for c in listed] == [(campaign_id, 1)]
    opened = (await client.get(f"/v3/email-campaigns/{campaign_id}/history")).json()["data"]
    assert sorted((h["to_address"], h["open_count"]) for h in opened["data"]) == [
        ("ann@example.net", 1),
        ("bob@example.net", 0),
    ]

    again = (await client.post("/v3/email-campaigns/price", json=body)).json()["data"]
    assert (again["total_count"], again["total_price"]) == (1, "0.001000")
    second = await client.post("/v3/email-campaigns/send", json={**body, "name": "Summer"})
    second_id = second.json()["data"]["data"]["email_campaign_id"]
    before = await balance(engine)
    assert await fan_out(app) == 1
    after = (await client.get(f"/v3/email-campaigns/{second_id}")).json()["data"]
    assert (after["_queued"], after["_opted_out"], after["_charged"]) == (1, 1, "0.001000")
    assert before - await balance(engine) == UNIT


async def test_cancel_mid_fan_out_refunds_the_queued_emails(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    address_id = await sender_id(app)
    list_id = await new_list(client)
    for n in range(3):
        await add(client, list_id, email=f"c{n}@example.net", first_name=f"C{n}")
    engine = engine_of(app)
    before = await balance(engine)
    sent = await client.post("/v3/email-campaigns/send", json=campaign_body(list_id, address_id))
    campaign_id = sent.json()["data"]["data"]["email_campaign_id"]
    assert await fan_out(app, batch=2, stop_after=1) == 1  # a worker that stopped dead
    assert before - await balance(engine) == 2 * UNIT

    cancelled = await client.put(f"/v3/email-campaigns/{campaign_id}/cancel")
    again = await client.put(f"/v3/email-campaigns/{campaign_id}/cancel")
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["data"]["status"] == "Cancelled"
    assert again.status_code == 400
    assert await balance(engine) == before
    assert await fan_out(app) == 0  # nothing more goes out
    statuses = await select(engine, sa.select(messages.c.status))
    assert sorted(row["status"] for row in statuses) == ["cancelled", "cancelled"]


async def test_a_fanned_out_campaign_is_cancellable_until_its_emails_are_dispatched(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings
) -> None:
    address_id = await sender_id(app)
    list_id = await new_list(client)
    await add(client, list_id, email="g@example.net", first_name="G")
    engine = engine_of(app)
    before = await balance(engine)
    body = campaign_body(list_id, address_id)
    first = await client.post("/v3/email-campaigns/send", json=body)
    second = await client.post("/v3/email-campaigns/send", json=body)
    assert await fan_out(app) == 2
    first_id = first.json()["data"]["data"]["email_campaign_id"]
    second_id = second.json()["data"]["data"]["email_campaign_id"]

    cancelled = await client.put(f"/v3/email-campaigns/{first_id}/cancel")
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["data"]["status"] == "Cancelled"
    assert before - await balance(engine) == UNIT  # the first one refunded
    assert await deliver(engine, settings) == 1
    late = await client.put(f"/v3/email-campaigns/{second_id}/cancel")
    assert late.status_code == 400
    assert "dispatched" in late.json()["response_msg"]


async def test_a_campaign_can_take_its_body_from_an_email_template(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    address_id = await sender_id(app)
    list_id = await new_list(client)
    await add(client, list_id, email="t@example.net", first_name="Tess")
    masters = (await client.get("/v3/email/master-templates")).json()["data"]
    template = await client.post(
        "/v3/email/templates",
        json={"template_name": "T", "template_id_master": masters[0]["template_id_master"]},
    )
    template_id = template.json()["data"]["template_id"]
    await client.put(f"/v3/email/templates/{template_id}", json={"body": "<p>Yo {first_name}</p>"})
    body = campaign_body(list_id, address_id, body=None, template_id=str(template_id))
    sent = await client.post("/v3/email-campaigns/send", json=body)
    assert sent.status_code == 200, sent.text
    assert sent.json()["data"]["data"]["body"] == "<p>Yo {first_name}</p>"
    assert sent.json()["data"]["data"]["template_id"] == template_id
    assert await fan_out(app) == 1
    [row] = await select(engine_of(app), sa.select(messages.c.body))
    assert row["body"] == "<p>Yo Tess</p>"


async def test_a_scheduled_campaign_can_be_changed_until_it_starts(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    address_id = await sender_id(app)
    list_id = await new_list(client)
    await add(client, list_id, email="d@example.net", first_name="D")
    later = int(time.time()) + 3600
    sent = await client.post(
        "/v3/email-campaigns/send", json=campaign_body(list_id, address_id, schedule=later)
    )
    campaign = sent.json()["data"]["data"]
    path = f"/v3/email-campaigns/{campaign['email_campaign_id']}"
    assert (campaign["status"], campaign["schedule"]) == ("Scheduled", str(later))
    assert await fan_out(app) == 0  # not due yet

    changed = await client.put(path, json={"subject": "Hello {first_name}", "schedule": None})
    assert changed.status_code == 200, changed.text
    assert changed.json()["data"]["subject"] == "Hello {first_name}"
    assert await fan_out(app, now=later + 1) == 1
    refused = await client.put(path, json={"name": "Too late"})
    assert refused.status_code == 400
    assert "sent" in refused.json()["response_msg"]


async def test_bad_campaigns_are_refused_with_nothing_written(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    address_id = await sender_id(app)
    unverified = await sender_id(app, "new@example.com", verified=False)
    list_id = await new_list(client)
    base = campaign_body(list_id, address_id)
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({**base, "body": "Hi {frist_name}"}, 400, "{frist_name}"),
        ({**base, "subject": "{nope}"}, 400, "subject"),
        ({**base, "subject": ""}, 400, "subject"),
        ({**base, "subject": "Hi\r\nBcc: x@example.net"}, 400, "subject"),
        ({**base, "from_name": "A\nB"}, 400, "from_name"),
        ({**base, "name": None}, 400, "name"),
        ({**base, "body": None}, 400, "body"),
        ({**base, "list_id": "x"}, 400, "list_id"),
        ({**base, "list_id": 999999}, 404, "List"),
        ({**base, "from_email_address_id": unverified}, 400, "verified"),
        ({**base, "from_email_address_id": 999999}, 400, "from_email_address_id"),
        ({**base, "template_id": 999999, "body": None}, 400, "template_id"),
        ({**base, "schedule": "never"}, 400, "schedule"),
    ]
    for path in ("/v3/email-campaigns/send", "/v3/email-campaigns/price"):
        for body, status, field in cases:
            response = await client.post(path, json=body)
            assert response.status_code == status, (path, body, response.text)
            assert field in response.json()["response_msg"], (path, body)
    assert (await client.get("/v3/email-campaigns")).json()["data"]["total"] == 0


async def test_accounts_are_isolated_and_permissions_apply(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    address_id = await sender_id(app)
    list_id = await new_list(client)
    sent = await client.post("/v3/email-campaigns/send", json=campaign_body(list_id, address_id))
    path = f"/v3/email-campaigns/{sent.json()['data']['data']['email_campaign_id']}"
    stranger = await other_account(engine_of(app))
    async with as_caller(app, stranger) as other:
        answers = [
            await other.get(path),
            await other.put(f"{path}/cancel"),
            await other.get(f"{path}/history"),
            await other.get(f"{path}/history/export"),
        ]
        theirs = await other.post(
            "/v3/email-campaigns/send", json=campaign_body(list_id, address_id)
        )
    assert [a.status_code for a in answers] == [404, 404, 404, 404]
    assert theirs.status_code == 404  # not their list

    for flag in ("access_email", "access_contacts"):
        name = f"no{flag.split('_')[1]}"
        created = await client.post(
            "/v3/subaccounts",
            json={
                "api_username": name,
                "password": "a-long-password",
                "email": f"{name}@example.com",
                "phone_number": "+61411111111",
                "first_name": "N",
                "last_name": "C",
                flag: 0,
            },
        )
        key = created.json()["data"]["api_key"]
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver", auth=(name, key)
        ) as sub:
            refused = [await sub.get("/v3/email-campaigns"), await sub.get(path)]
        assert [r.status_code for r in refused] == [403, 403]
        assert flag in refused[0].json()["response_msg"]


async def test_history_export_is_signed_and_formula_escaped(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    address_id = await sender_id(app)
    list_id = await new_list(client)
    await add(client, list_id, email="e@example.net", first_name="=HYPERLINK(1)")
    sent = await client.post("/v3/email-campaigns/send", json=campaign_body(list_id, address_id))
    campaign_id = sent.json()["data"]["data"]["email_campaign_id"]
    assert await fan_out(app) == 1

    link = (await client.get(f"/v3/email-campaigns/{campaign_id}/history/export")).json()
    url = urlsplit(link["data"]["url"])
    target = f"{url.path}?{url.query}"
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as anonymous:
        download = await anonymous.get(target)
        tampered = await anonymous.get(target.replace("campaign=", "campaign=9"))
    assert download.status_code == 200, download.text
    rows = list(csv.DictReader(io.StringIO(download.text)))
    assert [(r["to_address"], r["subject"]) for r in rows] == [
        ("e@example.net", "News for =HYPERLINK(1)")
    ]
    assert tampered.status_code in (403, 404)


async def test_an_export_cell_starting_with_a_formula_is_escaped(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    address_id = await sender_id(app)
    list_id = await new_list(client)
    await add(client, list_id, email="f@example.net", first_name="=cmd")
    body = campaign_body(list_id, address_id, subject="{first_name} news")
    sent = await client.post("/v3/email-campaigns/send", json=body)
    campaign_id = sent.json()["data"]["data"]["email_campaign_id"]
    assert await fan_out(app) == 1
    link = (await client.get(f"/v3/email-campaigns/{campaign_id}/history/export")).json()
    url = urlsplit(link["data"]["url"])
    download = await client.get(f"{url.path}?{url.query}")
    [row] = list(csv.DictReader(io.StringIO(download.text)))
    assert row["subject"] == "'=cmd news"


def test_sdk6_round_trips_email_campaigns(live_server: Any, settings: Settings) -> None:
    with sdk(live_server.url, settings) as api_client:
        lists = clicksend.ListsApi(api_client)
        created = lists.create_list(create_list_request=clicksend.CreateListRequest(list_name="E"))
        assert created.data is not None and created.data.list_id is not None
        list_id = created.data.list_id
        lists.create_new_contact(
            str(list_id),
            create_new_contact_request=clicksend.CreateNewContactRequest(
                email="six@example.net", first_name="Six"
            ),
        )
    address_id = verified_address(settings, "six@example.com")
    with sdk(live_server.url, settings) as api_client:
        api = clicksend.EmailApi(api_client)
        priced = api.calculate_email_campaign_price(
            calculate_email_campaign_price_request=clicksend.CalculateEmailCampaignPriceRequest(
                name="S",
                subject="Hi {first_name}",
                body="<p>Hello</p>",
                list_id=str(list_id),
                from_email_address_id=str(address_id),
            )
        )
        sent = api.send_email_campaign(
            send_email_campaign_request=clicksend.SendEmailCampaignRequest(
                name="S",
                subject="Hi {first_name}",
                body="<p>Hello</p>",
                list_id=str(list_id),
                from_email_address_id=str(address_id),
            )
        )
        assert sent.data is not None and sent.data.data is not None
        campaign_id = str(sent.data.data.email_campaign_id)
        listed = api.view_all_email_campaigns()
        one = api.view_email_campaign(campaign_id)
        updated = api.update_email_campaign(
            campaign_id,
            update_email_campaign_request=clicksend.UpdateEmailCampaignRequest(name="S2"),
        )
        history = api.view_email_campaign_history(campaign_id)
        api.export_email_campaign_history(campaign_id)
        cancelled = api.cancel_email_campaign(campaign_id)

    assert isinstance(priced, clicksend.CalculateEmailCampaignPrice)
    assert priced.data is not None and priced.data.total_count == 1
    assert isinstance(sent, clicksend.SendEmailCampaign) and sent.data.total_price == "0.001000"
    assert isinstance(listed, clicksend.ViewAllEmailCampaigns) and listed.data and listed.data.data
    assert isinstance(one, clicksend.ViewEmailCampaign) and one.data
    assert one.data.list_id == list_id
    assert isinstance(updated, clicksend.UpdateEmailCampaign) and updated.data
    assert updated.data.name == "S2"
    assert isinstance(history, clicksend.ViewEmailCampaignHistory) and history.data
    assert history.data.total == 0  # not fanned out yet
    assert isinstance(cancelled, clicksend.CancelEmailCampaign) and cancelled.data
    assert cancelled.data.status == "Cancelled"


def verified_address(settings: Settings, address: str) -> int:
    """A verified sender address of the owner (the SDK tests skip the emailed token)."""

    async def prepare() -> int:
        engine = create_engine(settings.database_url)
        try:
            me = await owner_principal(engine)
            return await add_address(engine, me.account.id, me.user.id, address)
        finally:
            await engine.dispose()

    return asyncio.run(prepare())


def test_sdk5_round_trips_email_campaigns(live_server: Any, settings: Settings) -> None:
    if str(SDK5_PATH) not in sys.path:
        sys.path.insert(0, str(SDK5_PATH))
    sdk5: ModuleType = importlib.import_module("clicksend_client")
    config = sdk5.Configuration()
    config.host = live_server.url + "/v3"
    config.username = settings.owner_username
    config.password = settings.owner_api_key
    client = sdk5.ApiClient(config)
    created = ast.literal_eval(
        sdk5.ContactListApi(client).lists_post(sdk5.ContactList(list_name="Five"))
    )
    list_id = created["data"]["list_id"]
    sdk5.ContactApi(client).lists_contacts_by_list_id_post(
        sdk5.Contact(phone_number="+14155552671", email="five@example.net", custom_1=""), list_id
    )
    address_id = verified_address(settings, "five@example.com")
    api = sdk5.EmailMarketingApi(client)
    campaign = sdk5.EmailCampaign(
        name="Five",
        subject="Hi",
        body="<p>Hello</p>",
        from_email_address_id=address_id,
        from_name="Five News",
        list_id=list_id,
    )

    priced = ast.literal_eval(api.email_campaign_price_post(campaign))
    sent = ast.literal_eval(api.email_campaign_post(campaign))
    campaign_id = sent["data"]["data"]["email_campaign_id"]
    one = ast.literal_eval(api.email_campaign_get(campaign_id))
    listed = ast.literal_eval(api.email_campaigns_get())
    updated = ast.literal_eval(
        api.email_campaign_put(campaign_id, sdk5.EmailCampaign(
            name="Five2", subject="Hi", body="<p>Hello</p>",
            from_email_address_id=address_id, from_name="Five News", list_id=list_id,
        ))
    )  # fmt: skip
    history = ast.literal_eval(api.email_campaign_history_get(campaign_id))
    exported = ast.literal_eval(api.email_campaign_history_export_get(campaign_id))
    cancelled = ast.literal_eval(api.cancel_email_campaign_put(campaign_id))

    assert priced["data"]["total_count"] == 1
    assert sent["data"]["data"]["status"] == "Queued"
    assert one["data"]["name"] == "Five"
    assert listed["data"]["total"] == 1
    assert updated["data"]["name"] == "Five2"
    assert history["data"]["total"] == 0
    assert "/history/export/download?" in exported["data"]["url"]
    assert cancelled["data"]["status"] == "Cancelled"
