"""`/v3/sms/email-sms` (allowed addresses) and `/v3/sms/email-sms-stripped-strings`."""

from __future__ import annotations

from typing import Any

import clicksend
import httpx
from fastapi import FastAPI

from dovecote.settings import Settings
from numbers_support import sdk5, sdk5_client, sdk5_result
from sms_support import as_caller, other_account, sdk


async def test_an_allowed_address_is_created_read_updated_listed_and_deleted(
    client: httpx.AsyncClient,
) -> None:
    created = await client.post(
        "/v3/sms/email-sms", json={"email_address": " Ops@Example.com", "from": "+61411111111"}
    )

    assert created.status_code == 200, created.text
    assert created.json()["response_msg"] == "New data has been saved."
    item = created.json()["data"]
    assert (item["email_address"], item["from"]) == ("ops@example.com", "+61411111111")
    path = f"/v3/sms/email-sms/{item['email_address_id']}"
    assert (await client.get(path)).json()["data"] == item
    updated = await client.put(path, json={"email_address": "*@example.com", "from": "Dovecote"})
    assert updated.json()["response_msg"] == "Your data has been updated."
    assert (updated.json()["data"]["email_address"], updated.json()["data"]["from"]) == (
        "*@example.com",
        "Dovecote",
    )
    listed = (await client.get("/v3/sms/email-sms")).json()["data"]
    assert [a["email_address"] for a in listed["data"]] == ["*@example.com"]
    deleted = await client.delete(path)
    assert (deleted.json()["data"], deleted.json()["response_msg"]) == (
        [],
        "Allowed email address was deleted.",
    )
    assert (await client.get(path)).status_code == 404


async def test_a_bad_address_or_sender_is_a_400_and_others_rows_are_404(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    for body, field in [
        ({"email_address": "nobody"}, "email_address"),
        ({}, "email_address"),
        ({"email_address": "a@example.com", "from": "has spaces in it"}, "from"),
    ]:
        response = await client.post("/v3/sms/email-sms", json=body)
        assert response.status_code == 400, body
        assert field in response.json()["response_msg"], body
    mine = (await client.post("/v3/sms/email-sms", json={"email_address": "a@example.com"})).json()
    stranger = await other_account(app.state.runtime.engine)
    async with as_caller(app, stranger) as theirs:
        path = f"/v3/sms/email-sms/{mine['data']['email_address_id']}"
        assert (await theirs.get(path)).status_code == 404
        assert (await theirs.delete(path)).status_code == 404


async def test_stripped_strings_are_created_read_updated_listed_and_deleted(
    client: httpx.AsyncClient,
) -> None:
    created = await client.post(
        "/v3/sms/email-sms-stripped-strings", json={"strip_string": "~~~test~~~"}
    )
    assert created.status_code == 200, created.text
    rule = created.json()["data"]
    assert rule["strip_string"] == "~~~test~~~"
    path = f"/v3/sms/email-sms-stripped-strings/{rule['rule_id']}"
    assert (await client.get(path)).json()["data"]["strip_string"] == "~~~test~~~"
    updated = await client.put(path, json={"strip_string": "~~~test1~~~"})
    assert updated.json()["response_msg"] == "Strip string has been updated."
    listed = (await client.get("/v3/sms/email-sms-stripped-strings")).json()["data"]
    assert [r["strip_string"] for r in listed["data"]] == ["~~~test1~~~"]
    empty = await client.put(path, json={"strip_string": "  "})
    assert empty.status_code == 400
    deleted = await client.delete(path)
    assert deleted.json()["data"] is True
    assert (await client.get(path)).status_code == 404


def test_the_sdks_manage_allowed_addresses_and_stripped_strings(
    live_server: Any, settings: Settings
) -> None:
    with sdk(live_server.url, settings) as api_client:
        api = clicksend.EmailToSmsApi(api_client)
        added = api.add_allowed_email(
            add_allowed_email_request=clicksend.AddAllowedEmailRequest.from_dict(
                {"email_address": "ops@example.com", "from": "Dovecote"}
            )
        )
        assert added.data is not None and added.data.email_address == "ops@example.com"
        listed = api.view_allowed_emails()
        assert listed.data is not None and listed.data.data is not None
        assert [a.email_address for a in listed.data.data] == ["ops@example.com"]
        rule = api.create_stripped_string_rule(
            create_stripped_string_rule_request=clicksend.CreateStrippedStringRuleRequest(
                strip_string="-- sent by robot"
            )
        )
        assert rule.data is not None and rule.data.rule_id is not None
        rule_id = str(rule.data.rule_id)
        one = api.view_stripped_string_rule(rule_id)
        assert one.data is not None and one.data.stripped_string == "-- sent by robot"
        api.update_stripped_string_rule(
            rule_id,
            create_stripped_string_rule_request=clicksend.CreateStrippedStringRuleRequest(
                strip_string="[robot]"
            ),
        )
        rules = api.view_stripped_string_rules()
        assert rules.data is not None and rules.data.data is not None
        assert [r.strip_string for r in rules.data.data] == ["[robot]"]
        assert api.delete_stripped_string_rule(rule_id).data is True

    v5 = sdk5()
    api5 = v5.EmailToSmsApi(sdk5_client(v5, live_server.url, settings))
    address = v5.EmailSMSAddress(email_address="*@example.org", _from="+61411111111")
    created = sdk5_result(api5.sms_email_sms_post(address))
    assert created["data"]["email_address"] == "*@example.org"
    every = sdk5_result(api5.sms_email_sms_get())
    assert [a["email_address"] for a in every["data"]["data"]] == [
        "ops@example.com",
        "*@example.org",
    ]
    rule5 = sdk5_result(api5.sms_email_sms_stripped_string_post(v5.StrippedString("x")))
    rule_id5 = rule5["data"]["rule_id"]
    assert (
        sdk5_result(api5.sms_email_sms_stripped_string_get(rule_id5))["data"]["strip_string"] == "x"
    )
    put = api5.sms_email_sms_stripped_string_put(v5.StrippedString("y"), rule_id5)
    assert sdk5_result(put)["data"]["strip_string"] == "y"
    assert sdk5_result(api5.sms_email_sms_stripped_strings_get())["data"]["total"] == 1
    assert sdk5_result(api5.sms_email_sms_stripped_string_delete(rule_id5))["data"] is True
