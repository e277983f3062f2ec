"""`/v3/automations/...` and `/v3/delivery-issues`: every operation through the official SDKs
(6.0.2, and 5.0.91 for the fax rules only it has), validation, isolation, permissions."""

from __future__ import annotations

import ast
import importlib
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import clicksend
import httpx
import pytest
from clicksend.exceptions import NotFoundException
from fastapi import FastAPI

from dovecote.settings import Settings
from sms_support import as_caller, other_account, owner, sdk, subaccount

SDK5_PATH = Path(__file__).resolve().parents[3] / ".venv" / "sdk5"
HOOK = "https://hooks.example.com/in"


def sdk5(url: str, settings: Settings) -> ModuleType:
    if not SDK5_PATH.is_dir():
        pytest.fail(f"SDK 5.0.91 is missing under {SDK5_PATH} (make test installs it)")
    if str(SDK5_PATH) not in sys.path:
        sys.path.insert(0, str(SDK5_PATH))
    module = importlib.import_module("clicksend_client")
    return module


def sdk5_client(module: ModuleType, url: str, settings: Settings) -> Any:
    config = module.Configuration()
    config.host = url + "/v3"
    config.username = settings.owner_username
    config.password = settings.owner_api_key
    return module.ApiClient(config)


def parsed(answer: str) -> Any:
    # SDK 5 hands back `str(parsed_json)`, a Python repr.
    return ast.literal_eval(answer)


def test_sdk6_manages_sms_inbound_rules(live_server: Any, settings: Settings) -> None:
    api = clicksend.SmsApi(sdk(live_server.url, settings))
    created = api.create_sms_inbound_automation(
        create_sms_inbound_automation_request=clicksend.CreateSmsInboundAutomationRequest(
            dedicated_number="+61298441484",
            rule_name="Yes",
            message_search_type=2,
            message_search_term="YES",
            action="URL",
            action_address=HOOK,
            enabled=1,
        )
    )
    rule = created.data
    assert rule is not None and rule.inbound_rule_id
    assert (rule.rule_name, rule.message_search_type, rule.message_search_term) == (
        "Yes",
        2,
        "YES",
    )
    assert (rule.action, rule.action_address, rule.enabled, rule.webhook_type) == (
        "URL",
        HOOK,
        1,
        "post",
    )
    rule_id = str(rule.inbound_rule_id)
    viewed = api.view_sms_inbound_automation(rule_id).data
    assert viewed == rule
    updated = api.update_sms_inbound_automation(
        rule_id,
        update_sms_inbound_automation_request=clicksend.UpdateSmsInboundAutomationRequest(
            rule_name="Renamed", enabled=0
        ),
    ).data
    assert updated is not None
    assert (updated.rule_name, updated.enabled, updated.message_search_term) == (
        "Renamed",
        0,
        "YES",
    )
    listed = api.view_sms_inbound_automations().data
    assert listed is not None and listed.data is not None
    assert [r.inbound_rule_id for r in listed.data] == [rule.inbound_rule_id]
    deleted = api.delete_sms_inbound_automation(rule_id)
    assert deleted.data == []
    with pytest.raises(NotFoundException):
        api.view_sms_inbound_automation(rule_id)


def _receipt_request(**values: Any) -> clicksend.CreateSmsDeliveryReceiptRuleRequest:
    fields: dict[str, Any] = {
        "rule_name": "Receipts",
        "match_type": 1,
        "action": "URL",
        "action_address": HOOK,
        "enabled": 1,
    }
    return clicksend.CreateSmsDeliveryReceiptRuleRequest(**{**fields, **values})


def test_sdk6_manages_sms_email_and_voice_receipt_rules(
    live_server: Any, settings: Settings
) -> None:
    client = sdk(live_server.url, settings)
    sms, email, voice = (
        clicksend.SmsApi(client),
        clicksend.EmailApi(client),
        clicksend.VoiceApi(client),
    )
    families: list[tuple[Any, Any, Any, Any, Any]] = [
        (
            sms.create_sms_delivery_receipt_rule,
            sms.view_sms_delivery_receipt_rule,
            sms.update_sms_delivery_receipt_rule,
            sms.view_sms_delivery_receipt_rules,
            sms.delete_sms_delivery_receipt_rule,
        ),
        (
            email.create_email_delivery_receipt_rule,
            email.view_email_delivery_receipt_rule,
            email.update_email_delivery_receipt_rule,
            email.view_email_delivery_receipt_rules,
            email.delete_email_delivery_receipt_rule,
        ),
        (
            voice.create_voice_delivery_receipt_rule,
            voice.view_voice_delivery_receipt_rule,
            voice.update_voice_delivery_receipt_rule,
            voice.view_voice_delivery_receipt_rules,
            voice.delete_voice_delivery_receipt_rule,
        ),
    ]
    for (create, view, update, listing, delete), deleted in zip(
        families, ([], True, []), strict=True
    ):
        rule = create(create_sms_delivery_receipt_rule_request=_receipt_request()).data
        assert rule is not None and rule.receipt_rule_id
        assert (rule.match_type, rule.action, rule.enabled) == (1, "URL", 1)
        rule_id = str(rule.receipt_rule_id)
        assert view(rule_id).data == rule
        changed = update(
            rule_id,
            create_sms_delivery_receipt_rule_request=_receipt_request(
                match_type=2, action="EMAIL_FIXED", action_address="ops@example.com"
            ),
        ).data
        assert changed is not None
        assert (changed.match_type, changed.action, changed.action_address) == (
            2,
            "EMAIL_FIXED",
            "ops@example.com",
        )
        listed = listing().data
        # SDK 6's email list model has no `data` field: only the page counts deserialize.
        assert listed is not None and listed.total == 1
        assert delete(rule_id).data == deleted
        with pytest.raises(NotFoundException):
            view(rule_id)


def test_sdk6_reports_and_lists_delivery_issues(live_server: Any, settings: Settings) -> None:
    api = clicksend.MessageDeliveryApi(sdk(live_server.url, settings))
    created = api.create_delivery_issue(
        create_delivery_issue_request=clicksend.CreateDeliveryIssueRequest(
            message_id="B388828B-AD46-4366-8AD3-0305FF5E3FE5",
            type="SMS",
            description="Never arrived.",
            email_address="me@example.com",
            client_comments="Twice now.",
        )
    ).data
    assert created is not None and created.issue_id
    assert (created.type, created.description, created.email_address) == (
        "SMS",
        "Never arrived.",
        "me@example.com",
    )
    listed = api.get_all_delivery_issues().data
    assert listed is not None and listed.data is not None
    [issue] = listed.data
    assert issue.issue_id == str(created.issue_id)
    assert (issue.client_comments, issue.resolved) == ("Twice now.", 0)


def test_sdk5_manages_every_kind_of_rule_and_delivery_issues(
    live_server: Any, settings: Settings
) -> None:
    module = sdk5(live_server.url, settings)
    client = sdk5_client(module, live_server.url, settings)
    fax_in = module.InboundFAXRulesApi(client)
    rule = module.InboundFaxRule(
        dedicated_number="+61298441484",
        rule_name="Fax",
        action="URL",
        action_address=HOOK,
        enabled=1,
    )
    created = parsed(fax_in.fax_inbound_automation_post(rule))["data"]
    assert (created["dedicated_number"], created["action"]) == ("+61298441484", "URL")
    rule_id = created["inbound_rule_id"]
    assert parsed(fax_in.fax_inbound_automation_get(rule_id))["data"] == created
    rule.rule_name = "Faxes"
    assert parsed(fax_in.fax_inbound_automation_put(rule_id, rule))["data"]["rule_name"] == "Faxes"
    assert len(parsed(fax_in.fax_inbound_automations_get())["data"]["data"]) == 1
    assert parsed(fax_in.fax_inbound_automation_delete(rule_id))["data"] == []

    receipt = module.DeliveryReceiptRule(
        rule_name="R", match_type=0, action="EMAIL_USER", action_address="", enabled=1
    )
    for api, prefix in (
        (module.FAXDeliveryReceiptRulesApi(client), "fax"),
        (module.EmailDeliveryReceiptRulesApi(client), "email"),
        (module.SMSDeliveryReceiptRulesApi(client), "sms"),
        (module.VoiceDeliveryReceiptRulesApi(client), "voice"),
    ):
        made = parsed(getattr(api, f"{prefix}_delivery_receipt_automation_post")(receipt))["data"]
        made_id = made["receipt_rule_id"]
        got = parsed(getattr(api, f"{prefix}_delivery_receipt_automation_get")(made_id))["data"]
        assert got == made
        receipt.match_type = 2
        put = getattr(api, f"{prefix}_delivery_receipt_automation_put")(made_id, receipt)
        assert parsed(put)["data"]["match_type"] == 2
        listing = parsed(getattr(api, f"{prefix}_delivery_receipt_automations_get")())
        assert [r["receipt_rule_id"] for r in listing["data"]["data"]] == [made_id]
        gone = getattr(api, f"{prefix}_delivery_receipt_automation_delete")(made_id)
        assert parsed(gone)["data"] == {"fax": None, "email": True}.get(prefix, [])
        receipt.match_type = 0

    sms_in = module.InboundSMSRulesApi(client)
    inbound_rule = module.InboundSMSRule(
        dedicated_number="*",
        rule_name="Stop",
        message_search_type=1,
        message_search_term="STOP",
        action="NOTHING",
        action_address="",
        enabled=1,
    )
    made = parsed(sms_in.sms_inbound_automation_post(inbound_rule))["data"]
    assert (made["message_search_type"], made["message_search_term"]) == (1, "STOP")
    inbound_id = made["inbound_rule_id"]
    assert parsed(sms_in.sms_inbound_automation_get(inbound_id))["data"] == made
    inbound_rule.enabled = 0
    assert (
        parsed(sms_in.sms_inbound_automation_put(inbound_id, inbound_rule))["data"]["enabled"] == 0
    )
    assert parsed(sms_in.sms_inbound_automations_get())["data"]["total"] == 1
    assert parsed(sms_in.sms_inbound_automation_delete(inbound_id))["data"] == []

    issues = module.DeliveryIssuesApi(client)
    issue = module.DeliveryIssue(
        message_id="ABC", type="EMAIL_TRANSACTIONAL", description="Bounced", email_address="a@b.co"
    )
    assert parsed(issues.delivery_issues_post(issue))["data"]["type"] == "EMAIL_TRANSACTIONAL"
    assert parsed(issues.delivery_issues_get())["data"]["total"] == 1


async def test_the_spec_and_sdk_paths_of_email_receipt_rules_reach_the_same_rules(
    client: httpx.AsyncClient,
) -> None:
    body = {
        "rule_name": "E",
        "match_type": 0,
        "action": "URL",
        "action_address": HOOK,
        "enabled": 1,
    }
    made = (await client.post("/v3/automations/email/receipt", json=body)).json()["data"]
    other = await client.get(f"/v3/automations/email/receipts/{made['receipt_rule_id']}")
    assert other.json()["data"] == made


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "rule_name"),
        (
            {"rule_name": "x", "message_search_type": 2, "action": "URL", "enabled": 1},
            "dedicated_number",
        ),
        (
            {
                "rule_name": "x",
                "dedicated_number": "*",
                "message_search_type": 2,
                "action": "URL",
                "action_address": HOOK,
                "enabled": 1,
            },
            "message_search_term",
        ),
        (
            {
                "rule_name": "x",
                "dedicated_number": "*",
                "message_search_type": 0,
                "action": "URL",
                "action_address": "ftp://x",
                "enabled": 1,
            },
            "action_address",
        ),
        (
            {
                "rule_name": "x",
                "dedicated_number": "*",
                "message_search_type": 0,
                "action": "JUMP",
                "action_address": "",
                "enabled": 1,
            },
            "action",
        ),
        (
            {
                "rule_name": "x",
                "dedicated_number": "*",
                "message_search_type": 0,
                "action": "URL",
                "action_address": HOOK,
                "enabled": 1,
                "webhook_type": "xml",
            },
            "webhook_type",
        ),
    ],
)
async def test_a_bad_rule_is_refused_naming_the_field_and_nothing_is_stored(
    client: httpx.AsyncClient, body: dict[str, Any], field: str
) -> None:
    response = await client.post("/v3/automations/sms/inbound", json=body)
    assert response.status_code == 400, response.text
    assert field in response.json()["response_msg"]
    assert (await client.get("/v3/automations/sms/inbound")).json()["data"]["total"] == 0


async def test_poll_is_refused_until_polls_exist(client: httpx.AsyncClient) -> None:
    body = {
        "rule_name": "x",
        "dedicated_number": "*",
        "message_search_type": 0,
        "action": "POLL",
        "action_address": "1",
        "enabled": 1,
    }
    response = await client.post("/v3/automations/sms/inbound", json=body)
    assert response.status_code == 400
    assert response.json()["response_msg"] == "action POLL is not available yet."
    ok = {**body, "action": "NOTHING"}
    made = (await client.post("/v3/automations/sms/inbound", json=ok)).json()["data"]
    changed = await client.put(
        f"/v3/automations/sms/inbound/{made['inbound_rule_id']}", json={"action": "POLL"}
    )
    assert changed.status_code == 400
    assert "is not available yet" in changed.json()["response_msg"]


@pytest.mark.parametrize("action", ["MOVE_CONTACT", "CREATE_CONTACT", "GROUP_SMS"])
async def test_list_actions_need_a_list_id_and_only_inbound_sms_rules_take_them(
    client: httpx.AsyncClient, action: str
) -> None:
    body = {
        "rule_name": "x",
        "dedicated_number": "*",
        "message_search_type": 0,
        "action": action,
        "action_address": "customers",
        "enabled": 1,
    }
    response = await client.post("/v3/automations/sms/inbound", json=body)
    assert response.status_code == 400
    assert response.json()["response_msg"] == f"action_address must be a list id for {action}."
    fax = {k: v for k, v in body.items() if k != "message_search_type"} | {"action_address": "1"}
    refused = await client.post("/v3/automations/fax/inbound", json=fax)
    assert refused.status_code == 400
    assert "is not valid for this rule" in refused.json()["response_msg"]


async def test_rules_belong_to_one_account_and_need_access_settings(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings
) -> None:
    body = {
        "rule_name": "R",
        "match_type": 0,
        "action": "URL",
        "action_address": HOOK,
        "enabled": 1,
    }
    made = (await client.post("/v3/automations/sms/receipts", json=body)).json()["data"]
    path = f"/v3/automations/sms/receipts/{made['receipt_rule_id']}"
    stranger = await other_account(app.state.runtime.engine)
    async with as_caller(app, stranger) as theirs:
        assert (await theirs.get(path)).status_code == 404
        assert (await theirs.put(path, json={"rule_name": "mine"})).status_code == 404
        assert (await theirs.delete(path)).status_code == 404
        assert (await theirs.get("/v3/automations/sms/receipts")).json()["data"]["total"] == 0
    me = await owner(client, settings)
    sub = await subaccount(client, me, "helper", reporting=True)
    response = await client.put(f"/v3/subaccounts/{sub.user_id}", json={"access_settings": 0})
    assert response.status_code == 200, response.text
    async with as_caller(app, sub) as limited:
        assert (await limited.get(path)).status_code == 403
        assert (await limited.post("/v3/automations/sms/receipts", json=body)).status_code == 403
        assert (await limited.delete(path)).status_code == 403
    assert (await client.get(path)).json()["data"]["rule_name"] == "R"
