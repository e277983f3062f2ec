"""Rule actions beyond URL: AUTO_REPLY and SMS through the charged SMS pipeline, EMAIL_*
through system mail; and the end-to-end inbound case of issue 14."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import parse_qs

import httpx
import sqlalchemy as sa
from fastapi import FastAPI

from contacts_support import add, new_list
from dispatch_support import deliver
from dovecote import wiring
from dovecote.automations.actions import ActionRunner
from dovecote.automations.webhook_sender import WebhookSender
from dovecote.pipeline.pricing import PriceBook
from dovecote.settings import Settings
from dovecote.storage.tables import accounts, automation_actions, messages
from email_support import engine_of, select
from webhook_support import receiver

NUMBER = "+61298441484"
CUSTOMER = "+61412345678"


def runner(app: FastAPI, settings: Settings) -> ActionRunner:
    context = wiring.job_context(app.state.runtime, settings)
    return ActionRunner(context, PriceBook.load(settings.prices_file))


async def rule(client: httpx.AsyncClient, path: str, **fields: Any) -> dict[str, Any]:
    response = await client.post(f"/v3/automations/{path}", json={"enabled": 1, **fields})
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


async def balance(app: FastAPI) -> int:
    rows = await select(
        engine_of(app), sa.select(accounts.c.balance_micros).order_by(accounts.c.id)
    )
    return int(rows[0]["balance_micros"])


async def outbound_sms(app: FastAPI) -> list[dict[str, Any]]:
    query = sa.select(messages).where(messages.c.channel == "sms", messages.c.direction == "out")
    return await select(engine_of(app), query)


async def test_yes_please_gets_an_auto_reply_charged_and_a_verifiable_webhook(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings
) -> None:
    with receiver() as peer:
        await rule(
            client,
            "sms/inbound",
            rule_name="Reply",
            dedicated_number=NUMBER,
            message_search_type=2,
            message_search_term="YES",
            action="AUTO_REPLY",
            action_address="",
            body="Thanks, you are in!",
        )
        await rule(
            client,
            "sms/inbound",
            rule_name="Hook",
            dedicated_number="*",
            message_search_type=2,
            message_search_term="YES",
            action="URL",
            action_address=peer.url,
        )
        await rule(
            client,
            "sms/inbound",
            rule_name="Other number",
            dedicated_number="+61299999999",
            message_search_type=0,
            message_search_term="",
            action="AUTO_REPLY",
            action_address="Wrong number",
        )
        before = await balance(app)
        answer = await client.post(
            "/sandbox/sms/inbound", json={"from": CUSTOMER, "to": NUMBER, "body": "YES please"}
        )
        assert answer.status_code == 200
        assert await runner(app, settings).run_once() == 1
        sender = WebhookSender(engine_of(app), settings)
        try:
            assert await sender.drain() == 1
        finally:
            await sender.close()
        key = (await client.get("/dovecote/webhooks/secret")).json()["data"]["secret"]

    [reply] = await outbound_sms(app)
    assert (reply["recipient"], reply["sender"], reply["body"]) == (
        CUSTOMER,
        NUMBER,
        "Thanks, you are in!",
    )
    assert (reply["source"], reply["status"]) == ("automation", "queued")
    assert reply["price_micros"] > 0
    assert await balance(app) == before - reply["price_micros"]
    [request] = peer.requests
    peer.verify(key, request)
    assert parse_qs(request.body.decode())["body"] == ["YES please"]
    [done] = await select(engine_of(app), sa.select(automation_actions))
    assert (done["status"], done["result"]) == ("done", reply["id"])


async def test_an_auto_reply_without_credit_fails_and_charges_nothing(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings
) -> None:
    await rule(
        client,
        "sms/inbound",
        rule_name="Reply",
        dedicated_number="*",
        message_search_type=0,
        message_search_term="",
        action="AUTO_REPLY",
        action_address="Thanks",
    )
    async with engine_of(app).begin() as conn:
        await conn.execute(accounts.update().values(balance_micros=0))
    await client.post("/sandbox/sms/inbound", json={"from": CUSTOMER, "to": NUMBER, "body": "hi"})
    await runner(app, settings).run_once()
    [failed] = await select(engine_of(app), sa.select(automation_actions))
    assert failed["status"] == "failed" and "INSUFFICIENT_CREDIT" in failed["result"]
    assert await outbound_sms(app) == []
    assert await balance(app) == 0


async def test_receipt_rules_email_and_forward_and_their_own_messages_fire_nothing(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings
) -> None:
    await rule(
        client,
        "sms/receipts",
        rule_name="Mail",
        match_type=0,
        action="EMAIL_FIXED",
        action_address="ops@example.com",
    )
    await rule(
        client,
        "sms/receipts",
        rule_name="Text",
        match_type=2,
        action="SMS",
        action_address="+61400000001",
    )
    sent = await client.post("/v3/sms/send", json={"messages": [{"to": CUSTOMER, "body": "Hi"}]})
    message_id = sent.json()["data"]["messages"][0]["message_id"]
    actions = runner(app, settings)
    for _ in range(3):  # deliver, act, deliver what the actions sent, act again
        while await deliver(engine_of(app), settings):
            pass
        await actions.run_once(now=time.time())
    rows = await select(
        engine_of(app), sa.select(automation_actions).order_by(automation_actions.c.id)
    )
    # Two actions for the customer's SMS; none for the receipt of the forwarded SMS.
    assert [(r["action"], r["status"]) for r in rows] == [("EMAIL_FIXED", "done"), ("SMS", "done")]
    mail = await select(engine_of(app), sa.select(messages).where(messages.c.channel == "email"))
    assert [(m["recipient"], m["subject"]) for m in mail] == [
        ("ops@example.com", "SMS receipt: Delivered")
    ]
    forwarded = [m for m in await outbound_sms(app) if m["recipient"] == "+61400000001"]
    assert len(forwarded) == 1 and message_id in forwarded[0]["body"]


# --- actions on the address book ------------------------------------------------------


async def contacts_in(client: httpx.AsyncClient, list_id: int) -> list[dict[str, Any]]:
    page = (await client.get(f"/v3/lists/{list_id}/contacts", params={"limit": 100})).json()
    data: list[dict[str, Any]] = page["data"]["data"]
    return data


async def inbound(client: httpx.AsyncClient, body: str, sender: str = CUSTOMER) -> None:
    answer = await client.post(
        "/sandbox/sms/inbound", json={"from": sender, "to": NUMBER, "body": body}
    )
    assert answer.status_code == 200, answer.text


async def test_join_name_and_email_create_a_contact_once_then_move_and_opt_out(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings
) -> None:
    leads, members = await new_list(client, "Leads"), await new_list(client, "Members")
    for term, action, address in (
        ("JOIN", "CREATE_CONTACT_PLUS_NAME_EMAIL", leads),
        ("UPGRADE", "MOVE_CONTACT", members),
        ("QUIT", "CONTACT_OPT_OUT", ""),
    ):
        await rule(
            client,
            "sms/inbound",
            rule_name=term,
            dedicated_number="*",
            message_search_type=1,
            message_search_term=term,
            action=action,
            action_address=str(address),
        )

    await inbound(client, "JOIN Ann Lee ann@example.com")
    await inbound(client, "JOIN again")
    assert await runner(app, settings).run_once() == 2
    [ann] = await contacts_in(client, leads)
    assert (ann["phone_number"], ann["first_name"], ann["last_name"], ann["email"]) == (
        CUSTOMER,
        "Ann",
        "Lee",
        "ann@example.com",
    )
    results = [r["result"] for r in await select(engine_of(app), sa.select(automation_actions))]
    assert f"{CUSTOMER} is already in list {leads}" in results

    await inbound(client, "UPGRADE me")
    assert await runner(app, settings).run_once() == 1
    assert await contacts_in(client, leads) == []
    assert [c["contact_id"] for c in await contacts_in(client, members)] == [ann["contact_id"]]

    await inbound(client, "QUIT")
    assert await runner(app, settings).run_once() == 1
    opt_out = next(
        item
        for item in (await client.get("/v3/lists")).json()["data"]["data"]
        if item["list_name"] == "Opt-Out List"
    )
    assert [c["phone_number"] for c in await contacts_in(client, opt_out["list_id"])] == [CUSTOMER]


async def test_group_sms_forwards_to_every_other_member_charged_and_opt_outs_skipped(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings
) -> None:
    group = await new_list(client, "Team")
    for number in (CUSTOMER, "+61412345679", "+61412345680"):
        await add(client, group, phone_number=number)
    await inbound(client, "STOP", sender="+61412345680")  # opts that member out
    await rule(
        client,
        "sms/inbound",
        rule_name="Team",
        dedicated_number=NUMBER,
        message_search_type=0,
        message_search_term="",
        action="GROUP_SMS",
        action_address=str(group),
    )
    before = await balance(app)

    await inbound(client, "Meeting at 5")
    assert await runner(app, settings).run_once() >= 1

    sent = [m for m in await outbound_sms(app) if m["source"] == "automation"]
    assert [(m["recipient"], m["body"]) for m in sent] == [("+61412345679", "Meeting at 5")]
    assert await balance(app) == before - sent[0]["price_micros"]


async def test_a_list_action_on_a_list_that_is_gone_fails_with_the_reason(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings
) -> None:
    doomed = await new_list(client, "Doomed")
    await rule(
        client,
        "sms/inbound",
        rule_name="Join",
        dedicated_number="*",
        message_search_type=0,
        message_search_term="",
        action="CREATE_CONTACT",
        action_address=str(doomed),
    )
    assert (await client.delete(f"/v3/lists/{doomed}")).status_code == 200
    await inbound(client, "hello")
    await runner(app, settings).run_once()
    [failed] = await select(engine_of(app), sa.select(automation_actions))
    assert failed["status"] == "failed"
    assert failed["result"] == f"List #{doomed} not found."
