"""`/v3/sms/templates`: create, read, update, delete, list; per account."""

from __future__ import annotations

from typing import Any

import clicksend
import httpx
import pytest
from clicksend.exceptions import BadRequestException, NotFoundException
from fastapi import FastAPI

from dovecote.settings import Settings
from sms_support import as_caller, other_account, sdk


async def test_a_template_is_created_read_updated_listed_and_deleted(
    client: httpx.AsyncClient,
) -> None:
    created = await client.post(
        "/v3/sms/templates", json={"template_name": " Welcome ", "body": "Hi {first_name}!"}
    )
    assert created.status_code == 200, created.text
    assert created.json()["response_msg"] == "New template has been saved."
    template = created.json()["data"]
    assert template == {
        "template_id": template["template_id"],
        "template_name": "Welcome",
        "body": "Hi {first_name}!",
    }
    path = f"/v3/sms/templates/{template['template_id']}"

    assert (await client.get(path)).json()["data"] == template
    renamed = await client.put(path, json={"template_name": "Hello"})
    assert renamed.json()["response_msg"] == "Your template has been updated."
    assert renamed.json()["data"] == {**template, "template_name": "Hello"}
    rewritten = await client.put(path, json={"template_name": "Hello", "body": "Bye"})
    assert rewritten.json()["data"]["body"] == "Bye"

    await client.post("/v3/sms/templates", json={"template_name": "Other", "body": "Reminder"})
    listed = (await client.get("/v3/sms/templates")).json()["data"]
    assert [t["template_name"] for t in listed["data"]] == ["Hello", "Other"]
    searched = await client.get("/v3/sms/templates", params={"q": "body:remind"})
    assert [t["template_name"] for t in searched.json()["data"]["data"]] == ["Other"]
    ordered = await client.get("/v3/sms/templates", params={"order_by": "template_id:desc"})
    assert ordered.json()["data"]["data"][0]["template_name"] == "Other"

    deleted = await client.delete(path)
    assert deleted.status_code == 200
    assert deleted.json()["data"] == []
    assert deleted.json()["response_msg"] == "Your template has been deleted."
    assert (await client.get(path)).status_code == 404
    assert (await client.delete(path)).status_code == 404


async def test_a_template_without_a_name_or_body_is_refused_naming_the_field(
    client: httpx.AsyncClient,
) -> None:
    cases: list[tuple[dict[str, Any] | None, str]] = [
        ({"body": "text"}, "template_name"),
        ({"template_name": "   ", "body": "text"}, "template_name"),
        ({"template_name": "x" * 201, "body": "text"}, "template_name"),
        ({"template_name": "name"}, "body"),
        ({"template_name": "name", "body": ""}, "body"),
        ({"template_name": "name", "body": 5}, "body"),
        (None, "template_name"),
    ]
    for body, field in cases:
        response = await client.post("/v3/sms/templates", json=body)

        assert response.status_code == 400, body
        assert field in response.json()["response_msg"], body
    assert (await client.get("/v3/sms/templates")).json()["data"]["total"] == 0


async def test_an_update_must_change_something_and_cannot_blank_a_field(
    client: httpx.AsyncClient,
) -> None:
    created = await client.post("/v3/sms/templates", json={"template_name": "A", "body": "B"})
    path = f"/v3/sms/templates/{created.json()['data']['template_id']}"

    for body in ({}, {"body": "  "}, {"template_name": ""}):
        assert (await client.put(path, json=body)).status_code == 400
    assert (await client.get(path)).json()["data"]["body"] == "B"
    assert (await client.get("/v3/sms/templates/not-a-number")).status_code == 400


async def test_another_accounts_template_is_not_found(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    created = await client.post("/v3/sms/templates", json={"template_name": "Mine", "body": "B"})
    path = f"/v3/sms/templates/{created.json()['data']['template_id']}"
    stranger = await other_account(app.state.runtime.engine)

    async with as_caller(app, stranger) as other:
        responses = [
            await other.get(path),
            await other.put(path, json={"body": "hijacked"}),
            await other.delete(path),
        ]
        listed = (await other.get("/v3/sms/templates")).json()["data"]

    assert [r.status_code for r in responses] == [404, 404, 404]
    assert listed["total"] == 0
    assert (await client.get(path)).json()["data"]["body"] == "B"


def test_the_sdk_manages_templates_through_its_models(live_server: Any, settings: Settings) -> None:
    with sdk(live_server.url, settings) as api_client:
        api = clicksend.SmsApi(api_client)
        request = clicksend.CreateSmsTemplateRequest(template_name="SDK", body="From the SDK")
        created = api.create_sms_template(create_sms_template_request=request)
        assert isinstance(created, clicksend.CreateSmsTemplate)
        assert created.data is not None and created.data.template_id is not None
        template_id = str(created.data.template_id)

        one = api.view_a_specific_sms_template(template_id)
        listed = api.view_sms_templates(page=1, limit=15, q="template_name:sdk")
        updated = api.update_sms_template(
            template_id,
            create_sms_template_request=clicksend.CreateSmsTemplateRequest(
                template_name="SDK 2", body="Changed"
            ),
        )
        deleted = api.delete_sms_template(template_id)
        with pytest.raises(NotFoundException):
            api.view_a_specific_sms_template(template_id)
        with pytest.raises(BadRequestException):
            api.create_sms_template(
                create_sms_template_request=clicksend.CreateSmsTemplateRequest(template_name="x")
            )

    assert isinstance(one, clicksend.ViewASpecificSmsTemplate)
    assert one.data is not None and one.data.body == "From the SDK"
    assert isinstance(listed, clicksend.ViewSmsTemplates)
    assert listed.data is not None and listed.data.data is not None
    assert [t.template_name for t in listed.data.data] == ["SDK"]
    assert isinstance(updated, clicksend.UpdateSmsTemplate)
    assert updated.data is not None and updated.data.template_name == "SDK 2"
    assert isinstance(deleted, clicksend.DeleteSmsTemplate)
    assert deleted.data == []
