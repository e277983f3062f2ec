"""SendGrid's template API (`/v3/templates`, versions) and mail/send with a dynamic
template: the official client, the JSON shapes, paging, refusals, and delivery of the
rendered mail through a real SMTP relay."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest
import sendgrid
import sqlalchemy as sa
from fastapi import FastAPI
from python_http_client.exceptions import BadRequestsError, NotFoundError
from sendgrid.helpers.mail import Mail, To

from dispatch_support import deliver
from dovecote.settings import Settings
from dovecote.storage import tables
from email_support import (
    email_events,
    engine_of,
    parse,
    select,
    smtp_relay,
    until,
    with_smtp,
)
from sendgrid_support import SENDER, bearer, verified_sender, with_engine

DYNAMIC_ID = re.compile(r"d-[0-9a-f]{32}")


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # SendGrid's 6/minute on Email Activity would stop these tests reading it back.
    return settings.model_copy(update={"activity_rate_limit": "10000/second"})


ORDER_HTML = """<html><body>
<h1>Thanks, {{customer.name}}!</h1>
<p>Order {{order_id}} placed {{formatDate placed_at "MMMM D, YYYY h:mm A" "+0200"}}</p>
<table>
{{#each items}}<tr><td>{{@index}}</td><td>{{title}}</td><td>{{qty}} x {{price}}</td></tr>
{{/each}}</table>
{{#if gift}}<p>Gift wrapped for {{gift.to}}</p>{{else}}<p>No gift message</p>{{/if}}
{{#greaterThan (length items) 2}}<p>Bulk order</p>{{/greaterThan}}
</body></html>"""
ORDER_SUBJECT = 'Order {{order_id}} confirmed, {{insert customer.name "default=friend"}}'


async def create_template(http: httpx.AsyncClient, settings: Settings, **body: Any) -> Any:
    response = await http.post(
        "/v3/templates", json={"generation": "dynamic", **body}, headers=bearer(settings)
    )
    assert response.status_code == 201, response.text
    return response.json()


async def create_version(
    http: httpx.AsyncClient, settings: Settings, template_id: str, **body: Any
) -> httpx.Response:
    fields = {"name": "v1", "subject": "Hi {{name}}", "html_content": "<p>{{name}}</p>"}
    return await http.post(
        f"/v3/templates/{template_id}/versions", json={**fields, **body}, headers=bearer(settings)
    )


def test_the_official_client_manages_templates_and_sends_with_one(
    live_server: Any, settings: Settings
) -> None:
    with_engine(settings, verified_sender)
    sg = sendgrid.SendGridAPIClient(api_key=settings.owner_api_key, host=live_server.url)

    made = sg.client.templates.post(request_body={"name": "Receipt", "generation": "dynamic"})
    template = json.loads(made.body)
    tid = template["id"]
    version = sg.client.templates._(tid).versions.post(
        request_body={
            "name": "first",
            "subject": "Receipt for {{name}}",
            "html_content": "<p>Hello {{name}}, {{#each items}}{{this}};{{/each}}</p>",
            "active": 1,
        }
    )
    created = json.loads(version.body)
    listed = sg.client.templates.get(query_params={"generations": "dynamic", "page_size": 10})
    one = sg.client.templates._(tid).get()
    renamed = sg.client.templates._(tid).patch(request_body={"name": "Receipts"})
    read = sg.client.templates._(tid).versions._(created["id"]).get()
    edited = (
        sg.client.templates._(tid)
        .versions._(created["id"])
        .patch(request_body={"name": "first, edited"})
    )
    activated = sg.client.templates._(tid).versions._(created["id"]).activate.post()

    mail = Mail(from_email=SENDER, to_emails=To("ann@example.net"))
    mail.template_id = tid
    mail.dynamic_template_data = {"name": "Ann", "items": ["pen", "ink"]}
    sent = sg.send(mail)

    assert made.status_code == 201 and DYNAMIC_ID.fullmatch(tid)
    assert template["generation"] == "dynamic" and template["versions"] == []
    assert version.status_code == 201
    assert created["template_id"] == tid and created["active"] == 1
    assert created["plain_content"] == "Hello {{name}}, {{#each items}}{{this}};{{/each}}"
    assert [t["id"] for t in json.loads(listed.body)["result"]] == [tid]
    assert json.loads(one.body)["versions"][0]["html_content"].startswith("<p>Hello")
    assert json.loads(renamed.body)["name"] == "Receipts"
    assert json.loads(read.body)["subject"] == "Receipt for {{name}}"
    assert json.loads(edited.body)["name"] == "first, edited"
    assert json.loads(activated.body)["active"] == 1
    assert sent.status_code == 202
    msg_id = sent.headers["X-Message-Id"]
    found = sg.client.messages.get(query_params={"query": 'subject="Receipt for Ann"'})
    [message] = json.loads(found.body)["messages"]
    assert message["msg_id"] == msg_id

    with pytest.raises(NotFoundError) as missing:
        sg.client.templates._("d-" + "0" * 32).get()
    with pytest.raises(BadRequestsError) as broken:
        sg.client.templates._(tid).versions.post(
            request_body={"name": "broken", "subject": "x", "html_content": "a\n{{#if x}}"}
        )
    assert json.loads(missing.value.body)["errors"][0]["message"]
    error = json.loads(broken.value.body)["errors"][0]
    assert "'broken'" in error["message"] and "line 2" in error["message"]
    assert sg.client.templates._(tid).versions._(created["id"]).delete().status_code == 204
    assert sg.client.templates._(tid).delete().status_code == 204


async def test_generations_filter_and_pages(anon: httpx.AsyncClient, settings: Settings) -> None:
    dynamic = [(await create_template(anon, settings, name=f"D{n}"))["id"] for n in range(5)]
    legacy = await create_template(anon, settings, name="Old", generation="legacy")

    async def page(**params: Any) -> Any:
        response = await anon.get("/v3/templates", params=params, headers=bearer(settings))
        assert response.status_code == 200, response.text
        return response.json()

    first = await page(generations="dynamic", page_size=2)
    token = first["_metadata"]["next"].split("page_token=")[1]
    second = await page(generations="dynamic", page_size=2, page_token=token)
    third = await page(
        generations="dynamic", page_size=2, page_token=second["_metadata"]["next"].split("=")[-1]
    )
    both = await page(generations="legacy,dynamic", page_size=200)
    default = await page()

    walked = [t["id"] for p in (first, second, third) for t in p["result"]]
    assert walked == dynamic  # oldest first
    assert first["_metadata"]["count"] == 5 and "next" not in third["_metadata"]
    assert len(both["result"]) == 6
    assert [t["id"] for t in default["templates"]] == [legacy["id"]]
    assert not DYNAMIC_ID.fullmatch(legacy["id"])
    bad = await anon.get("/v3/templates", params={"page_size": 0}, headers=bearer(settings))
    wrong = await anon.get("/v3/templates", params={"generations": "x"}, headers=bearer(settings))
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "page_size"
    assert wrong.status_code == 400 and wrong.json()["errors"][0]["field"] == "generations"


async def test_versions_activate_one_at_a_time_and_generate_text(
    anon: httpx.AsyncClient, settings: Settings
) -> None:
    tid = (await create_template(anon, settings, name="Welcome"))["id"]
    html = '<p>Hi <b>{{name}}</b></p><p><a href="https://x.test">Go</a></p><style>p{}</style>'
    first = (await create_version(anon, settings, tid, html_content=html)).json()
    second = (
        await create_version(
            anon,
            settings,
            tid,
            name="v2",
            plain_content="Text {{name}}",
            generate_plain_content=False,
        )
    ).json()
    path = f"/v3/templates/{tid}/versions"

    assert first["active"] == 1 and second["active"] == 0
    assert first["plain_content"] == "Hi {{name}}\n\nGo (https://x.test)"
    assert second["plain_content"] == "Text {{name}}"
    activated = await anon.post(f"{path}/{second['id']}/activate", headers=bearer(settings))
    assert activated.status_code == 200 and activated.json()["active"] == 1
    template = (await anon.get(f"/v3/templates/{tid}", headers=bearer(settings))).json()
    assert {v["id"]: v["active"] for v in template["versions"]} == {
        first["id"]: 0,
        second["id"]: 1,
    }
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", template["updated_at"])
    patched = await anon.patch(
        f"{path}/{first['id']}", json={"html_content": "<p>{{#if"}, headers=bearer(settings)
    )
    assert patched.status_code == 400
    assert patched.json()["errors"][0]["field"] == "html_content"
    gone = await anon.delete(f"{path}/{first['id']}", headers=bearer(settings))
    again = await anon.get(f"{path}/{first['id']}", headers=bearer(settings))
    assert gone.status_code == 204 and again.status_code == 404
    assert "errors" in again.json()


async def test_templates_belong_to_the_account_and_need_access_email(
    app: FastAPI, client: httpx.AsyncClient, anon: httpx.AsyncClient, settings: Settings
) -> None:
    tid = (await create_template(anon, settings, name="Shared"))["id"]
    made = await client.post(
        "/v3/subaccounts",
        json={
            "api_username": "bob",
            "password": "s3cret-password",
            "email": "bob@example.com",
            "phone_number": "+61411111111",
            "first_name": "Bob",
            "last_name": "Example",
            "access_email": 0,
        },
    )
    bob = {"Authorization": f"Bearer {made.json()['data']['api_key']}"}
    attempts = [
        await anon.get("/v3/templates", headers=bob),
        await anon.post("/v3/templates", json={"name": "B"}, headers=bob),
        await anon.get(f"/v3/templates/{tid}", headers=bob),
        await anon.delete(f"/v3/templates/{tid}", headers=bob),
    ]
    for response in attempts:
        assert response.status_code == 403, response.request.method
        assert "errors" in response.json()
    assert (await anon.get(f"/v3/templates/{tid}", headers=bearer(settings))).status_code == 200
    assert (await anon.get("/v3/templates")).status_code == 401


async def test_mail_send_renders_the_active_version_and_records_it(
    app: FastAPI, anon: httpx.AsyncClient, settings: Settings
) -> None:
    await verified_sender(engine_of(app))
    tid = (await create_template(anon, settings, name="Hi"))["id"]
    version = (
        await create_version(
            anon, settings, tid, subject="Hi {{name}}", html_content="<p>{{name}}</p>"
        )
    ).json()
    body = {
        "from": {"email": SENDER},
        "template_id": tid,
        "personalizations": [
            {"to": [{"email": "ann@example.net"}], "dynamic_template_data": {"name": "<Ann>"}}
        ],
    }
    sent = await anon.post("/v3/mail/send", json=body, headers=bearer(settings))
    unknown = await anon.post(
        "/v3/mail/send",
        json={**body, "template_id": "d-" + "f" * 32},
        headers=bearer(settings),
    )

    assert sent.status_code == 202, sent.text
    [processed] = await email_events(engine_of(app), sent.headers["X-Message-Id"])
    assert processed["data"]["template_id"] == tid
    assert processed["data"]["template_version_id"] == version["id"]
    assert processed["data"]["subject"] == "Hi <Ann>"
    [activity] = await select(engine_of(app), sa.select(tables.email_activity))
    assert activity["template_id"] == tid and activity["subject"] == "Hi <Ann>"
    assert unknown.status_code == 400
    assert unknown.json()["errors"][0]["field"] == "template_id"


async def test_a_template_that_fails_to_render_names_the_version(
    app: FastAPI, anon: httpx.AsyncClient, settings: Settings
) -> None:
    await verified_sender(engine_of(app))
    tid = (await create_template(anon, settings, name="Shout"))["id"]
    version = (await create_version(anon, settings, tid, html_content="{{shout name}}")).json()
    body = {
        "from": {"email": SENDER},
        "template_id": tid,
        "personalizations": [{"to": [{"email": "ann@example.net"}]}],
    }
    response = await anon.post("/v3/mail/send", json=body, headers=bearer(settings))
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["field"] == "template_id" and version["id"] in error["message"]


async def test_a_template_cannot_expand_past_the_mail_size_cap(
    app: FastAPI, anon: httpx.AsyncClient, settings: Settings
) -> None:
    await verified_sender(engine_of(app))
    tid = (await create_template(anon, settings, name="Bomb"))["id"]
    bomb = (
        "{{#each xs}}{{#each ../xs}}{{#each ../../xs}}{{../../../pad}}{{/each}}{{/each}}{{/each}}"
    )
    await create_version(anon, settings, tid, html_content=bomb)
    data = {"xs": list(range(100)), "pad": "x" * 10_000}  # 100**3 * 10 KB = 10 GB
    body = {
        "from": {"email": SENDER},
        "template_id": tid,
        "personalizations": [{"to": [{"email": "a@example.net"}], "dynamic_template_data": data}],
    }
    response = await anon.post("/v3/mail/send", json=body, headers=bearer(settings))
    assert response.status_code == 400
    assert "30 MB" in response.json()["errors"][0]["message"]


async def test_an_order_confirmation_reaches_a_real_smtp_relay(settings: Settings) -> None:
    from dovecote.app import create_app

    people = [
        ("ann@example.net", "Ann", [("Pen", 2, "1.50"), ("Ink", 1, "4.00")], {"to": "Bo"}),
        ("bob@example.net", "Bob & Co", [("Pad", 1, "3.00")], None),
        ("cy@example.net", None, [("A", 1, "1"), ("B", 1, "2"), ("C", 3, "3")], None),
    ]
    with smtp_relay() as relay:
        configured = with_smtp(settings, relay)
        application = create_app(configured)
        async with application.router.lifespan_context(application):
            engine = engine_of(application)
            await verified_sender(engine)
            transport = httpx.ASGITransport(app=application)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
                tid = (await create_template(http, configured, name="Order"))["id"]
                made = await create_version(
                    http, configured, tid, subject=ORDER_SUBJECT, html_content=ORDER_HTML
                )
                assert made.status_code == 201, made.text
                personalizations = []
                for n, (address, name, items, gift) in enumerate(people):
                    data: dict[str, Any] = {
                        "order_id": f"A-{n}",
                        "placed_at": "2024-03-05T22:30:00Z",
                        "items": [{"title": t, "qty": q, "price": p} for t, q, p in items],
                        "gift": gift,
                    }
                    if name is not None:
                        data["customer"] = {"name": name}
                    personalizations.append(
                        {"to": [{"email": address}], "dynamic_template_data": data}
                    )
                response = await http.post(
                    "/v3/mail/send",
                    json={
                        "from": {"email": SENDER},
                        "template_id": tid,
                        "personalizations": personalizations,
                    },
                    headers=bearer(configured),
                )
            assert response.status_code == 202, response.text
            assert await deliver(engine, configured) == 3
            await until(lambda: len(relay.received) == 3)

    mails = {item.recipients[0]: parse(item.data) for item in relay.received}
    ann, bob, cy = (mails[p[0]] for p in people)
    assert ann["Subject"] == "Order A-0 confirmed, Ann"
    assert bob["Subject"] == "Order A-1 confirmed, Bob & Co"
    assert cy["Subject"] == "Order A-2 confirmed, friend"

    def html(message: Any) -> str:
        part = message.get_body(("html",))
        assert part is not None
        return str(part.get_content())

    def text(message: Any) -> str:
        part = message.get_body(("plain",))
        assert part is not None
        return str(part.get_content())

    assert "<h1>Thanks, Ann!</h1>" in html(ann)
    assert "placed March 6, 2024 12:30 AM" in html(ann)  # 22:30 UTC at +02:00
    assert "<tr><td>0</td><td>Pen</td><td>2 x 1.50</td></tr>" in html(ann)
    assert "<tr><td>1</td><td>Ink</td><td>1 x 4.00</td></tr>" in html(ann)
    assert "Gift wrapped for Bo" in html(ann) and "Bulk order" not in html(ann)
    assert "<h1>Thanks, Bob &amp; Co!</h1>" in html(bob)
    assert "No gift message" in html(bob)
    assert html(cy).count("<tr>") == 3 and "Bulk order" in html(cy)
    assert "<h1>Thanks, !</h1>" in html(cy)
    assert "Thanks, Bob & Co!" in text(bob)  # the generated text part, not HTML-escaped
    assert "Order A-2 placed March 6, 2024 12:30 AM" in text(cy)
