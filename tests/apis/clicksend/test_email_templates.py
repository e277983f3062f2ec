"""`/v3/email/templates`: the SDK 6.0.2 round trip, copies of master templates,
permissions, tenant isolation, bad input."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import clicksend
import httpx
import pytest
from clicksend.exceptions import BadRequestException, NotFoundException
from fastapi import FastAPI

from dovecote.accounts.service import create_account
from dovecote.channels.email import master_templates
from dovecote.settings import Settings
from dovecote.storage.tables import templates

PAGE = "<!DOCTYPE html><html><head><title>Hi</title></head><body><p>Hello</p></body></html>"


def sdk(url: str, username: str | None, key: str | None) -> clicksend.ApiClient:
    return clicksend.ApiClient(clicksend.Configuration(host=url, username=username, password=key))


@asynccontextmanager
async def login(app: FastAPI, username: str, key: str) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://testserver", auth=(username, key)
    ) as http:
        yield http


async def create(client: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    response = await client.post("/v3/email/templates", json=body)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


def test_the_sdk_copies_a_master_then_lists_reads_updates_and_deletes_the_template(
    live_server: Any, settings: Settings
) -> None:
    master = master_templates.get_template(1)
    with sdk(live_server.url, settings.owner_username, settings.owner_api_key) as client:
        api = clicksend.EmailApi(client)
        created = api.create_email_template(
            create_email_template_request=clicksend.CreateEmailTemplateRequest(
                template_name="Onboarding", template_id_master=master.id
            )
        )
        assert created.data is not None and created.data.template_id is not None
        template_id = str(created.data.template_id)
        listed = api.view_email_templates()
        fetched = api.view_email_template(template_id)
        updated = api.update_email_template(
            template_id,
            update_email_template_request=clicksend.UpdateEmailTemplateRequest(body=PAGE),
        )
        deleted = api.delete_email_template(template_id)
        with pytest.raises(NotFoundException):
            api.view_email_template(template_id)
        with pytest.raises(BadRequestException):
            api.create_email_template(
                create_email_template_request=clicksend.CreateEmailTemplateRequest(
                    template_name="Nope", template_id_master=999
                )
            )

    assert isinstance(created, clicksend.CreateEmailTemplate)
    assert created.data.template_name == "Onboarding"
    assert created.data.template_id_master == master.id
    assert created.data.body is not None and "Welcome aboard!" in created.data.body
    assert listed.data is not None and listed.data.data is not None
    assert listed.data.total == 1
    assert [(t.template_id, t.template_name) for t in listed.data.data] == [
        (created.data.template_id, "Onboarding")
    ]
    assert fetched.data is not None and fetched.data.body == created.data.body
    assert updated.data is not None
    assert updated.data.body == PAGE
    assert updated.data.template_name == "Onboarding"
    assert deleted.response_code == "SUCCESS" and deleted.data == []


async def test_a_template_can_be_written_from_scratch(client: httpx.AsyncClient) -> None:
    created = await create(client, template_name="  Launch  ", body=PAGE)

    assert created == {
        "template_id": created["template_id"],
        "template_name": "Launch",
        "template_id_master": None,
        "body": PAGE,
    }


async def test_a_copy_of_a_master_keeps_its_html_and_remembers_the_master(
    client: httpx.AsyncClient,
) -> None:
    master = master_templates.get_template(3)

    created = await create(client, template_name="Receipts", template_id_master=master.id)
    renamed = await client.put(
        f"/v3/email/templates/{created['template_id']}", json={"template_name": "Our receipts"}
    )
    edited = await client.put(
        f"/v3/email/templates/{created['template_id']}",
        json={"body": created["body"].replace("Thanks for your order", "Thank you")},
    )
    replaced = await client.put(
        f"/v3/email/templates/{created['template_id']}", json={"body": PAGE}
    )

    # The master's markup is kept whole; only a marker naming the master is added.
    assert created["body"].replace('<meta name="dovecote-master-template" content="3">', "") == (
        master.body.replace("<head>", "<head>\n", 1)
    )
    assert renamed.json()["data"]["template_id_master"] == master.id
    assert edited.json()["data"]["template_id_master"] == master.id
    assert "Thank you" in edited.json()["data"]["body"]
    assert replaced.json()["data"]["template_id_master"] is None


async def test_a_body_given_with_a_master_is_used_and_linked_to_it(
    client: httpx.AsyncClient,
) -> None:
    created = await create(client, template_name="Custom", template_id_master=2, body=PAGE)

    assert created["template_id_master"] == 2
    assert "<p>Hello</p>" in created["body"]
    assert "Reset your password" not in created["body"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"body": PAGE}, "template_name"),
        ({"template_name": "", "body": PAGE}, "template_name"),
        ({"template_name": "   ", "body": PAGE}, "template_name"),
        ({"template_name": "x" * 201, "body": PAGE}, "template_name"),
        ({"template_name": "No body"}, "body"),
        ({"template_name": "Blank", "body": "  "}, "body"),
        ({"template_name": "Unknown", "template_id_master": 999}, "template_id_master"),
        ({"template_name": "Typed", "template_id_master": "first"}, "template_id_master"),
        # Found by the contract run: `true` was read as master 1.
        ({"template_name": "Yes", "template_id_master": True}, "template_id_master"),
    ],
)
async def test_a_template_without_a_name_or_a_body_is_refused_naming_the_field(
    client: httpx.AsyncClient, body: dict[str, Any], field: str
) -> None:
    response = await client.post("/v3/email/templates", json=body)

    assert response.status_code == 400
    assert response.json()["response_code"] == "BAD_REQUEST"
    assert field in response.json()["response_msg"]
    assert (await client.get("/v3/email/templates")).json()["data"]["total"] == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "body"),
        ({"template_name": ""}, "template_name"),
        ({"body": ""}, "body"),
    ],
)
async def test_an_update_that_would_empty_a_field_is_refused_and_changes_nothing(
    client: httpx.AsyncClient, body: dict[str, Any], field: str
) -> None:
    created = await create(client, template_name="Keep", body=PAGE)

    response = await client.put(f"/v3/email/templates/{created['template_id']}", json=body)

    assert response.status_code == 400
    assert field in response.json()["response_msg"]
    after = await client.get(f"/v3/email/templates/{created['template_id']}")
    assert after.json()["data"] == created


async def test_an_unknown_template_is_not_found_and_a_malformed_id_is_a_bad_request(
    client: httpx.AsyncClient,
) -> None:
    responses = [
        await client.get("/v3/email/templates/999"),
        await client.put("/v3/email/templates/999", json={"body": PAGE}),
        await client.delete("/v3/email/templates/999"),
    ]
    malformed = await client.get("/v3/email/templates/first")

    for response in responses:
        assert response.status_code == 404, response.request.method
        assert response.json()["response_code"] == "NOT_FOUND"
    assert malformed.status_code == 400


async def test_sms_templates_are_not_email_templates(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    account_id = (await client.get("/v3/account")).json()["data"]["account"]
    async with app.state.runtime.engine.begin() as conn:
        result = await conn.execute(
            templates.insert()
            .values(
                account_id=account_id,
                user_id=1,
                channel="sms",
                name="Text",
                body="Hi",
                created_at=0,
            )
            .returning(templates.c.id)
        )
        sms_id = result.scalar_one()

    listed = (await client.get("/v3/email/templates")).json()["data"]
    read = await client.get(f"/v3/email/templates/{sms_id}")
    deleted = await client.delete(f"/v3/email/templates/{sms_id}")

    assert listed["total"] == 0
    assert read.status_code == 404
    assert deleted.status_code == 404


async def test_another_account_cannot_see_or_touch_this_accounts_templates(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    mine = await create(client, template_name="Mine", body=PAGE)
    path = f"/v3/email/templates/{mine['template_id']}"
    async with app.state.runtime.engine.begin() as conn:
        intruder = await create_account(conn, username="intruder", balance_micros=1_000_000)

    async with login(app, "intruder", intruder.api_key) as as_intruder:
        attempts = {
            "read": await as_intruder.get(path),
            "update": await as_intruder.put(path, json={"template_name": "Theirs"}),
            "delete": await as_intruder.delete(path),
        }
        listed = (await as_intruder.get("/v3/email/templates")).json()["data"]

    for action, response in attempts.items():
        assert response.status_code == 404, action
    assert listed["total"] == 0
    assert (await client.get(path)).json()["data"] == mine


async def test_a_subaccount_without_access_email_is_forbidden(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    mine = await create(client, template_name="Team", body=PAGE)
    path = f"/v3/email/templates/{mine['template_id']}"
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
    bob = made.json()["data"]

    async with login(app, "bob", bob["api_key"]) as as_bob:
        attempts = [
            await as_bob.get("/v3/email/templates"),
            await as_bob.post("/v3/email/templates", json={"template_name": "B", "body": PAGE}),
            await as_bob.get(path),
            await as_bob.put(path, json={"template_name": "Bob's"}),
            await as_bob.delete(path),
        ]

    for response in attempts:
        assert response.status_code == 403, response.request.method
        assert response.json()["response_code"] == "FORBIDDEN"
    assert (await client.get(path)).json()["data"] == mine


async def test_templates_are_searched_ordered_and_paged(client: httpx.AsyncClient) -> None:
    for n in range(16):
        await create(client, template_name=f"Campaign {n:02d}", body=PAGE)
    await create(client, template_name="Receipt", template_id_master=3)

    first = (await client.get("/v3/email/templates")).json()["data"]
    second = (await client.get("/v3/email/templates", params={"page": 2})).json()["data"]
    found = await client.get("/v3/email/templates", params={"q": "template_name:receipt"})
    ordered = await client.get(
        "/v3/email/templates", params={"order_by": "template_name:desc", "limit": 100}
    )
    unknown = await client.get("/v3/email/templates", params={"order_by": "account_id:asc"})

    assert (first["total"], first["last_page"], len(first["data"])) == (17, 2, 15)
    assert set(first["data"][0]) == {"template_id", "template_name", "template_id_master"}
    assert (second["from"], second["to"]) == (16, 17)
    assert [
        (t["template_name"], t["template_id_master"]) for t in found.json()["data"]["data"]
    ] == [("Receipt", 3)]
    names = [t["template_name"] for t in ordered.json()["data"]["data"]]
    assert names == sorted(names, reverse=True)
    assert unknown.status_code == 400


async def test_templates_need_credentials(anon: httpx.AsyncClient) -> None:
    responses = [
        await anon.get("/v3/email/templates"),
        await anon.post("/v3/email/templates", json={"template_name": "x", "body": PAGE}),
        await anon.delete("/v3/email/templates/1"),
    ]

    for response in responses:
        assert response.status_code == 401
