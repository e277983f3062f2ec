"""Settings › Webhooks: the account's rules with a switch, and the delivery log: a
delivery the receiver refused shows dead with its answer, and replay queues it again
(the worker sends it, the receiver takes it this time)."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
from playwright.async_api import Page, expect

from conftest import OWNER, OWNER_KEY, OWNER_PASSWORD, LiveServer
from dashboard_support import sign_in
from webhook_support import Received, receiver

pytestmark = pytest.mark.asyncio(loop_scope="session")

RULE = {
    "rule_name": "Forward replies",
    "dedicated_number": "*",
    "message_search_type": 0,
    "action": "URL",
    "enabled": 1,
}


async def _until_status(api: httpx.AsyncClient, status: str, seconds: float = 10.0) -> None:
    # The worker's webhook job is a loop of its own: its outcome is read back by the API.
    deadline = time.monotonic() + seconds
    while True:
        listed = (await api.get("/dovecote/webhooks/deliveries")).json()["data"]["data"]
        if [row["status"] for row in listed] == [status]:
            return
        assert time.monotonic() < deadline, listed
        await asyncio.sleep(0.05)


async def test_a_dead_delivery_is_listed_with_its_answer_and_replay_sends_it_again(
    page: Page, server: LiveServer
) -> None:
    answers = iter((400, 200))

    def answer(_: Received) -> int:
        return next(answers)

    with receiver() as peer:
        peer.answer = answer
        async with httpx.AsyncClient(base_url=server.url, auth=(OWNER, OWNER_KEY)) as api:
            made = await api.post(
                "/v3/automations/sms/inbound", json={**RULE, "action_address": peer.url}
            )
            assert made.status_code == 200, made.text
            replied = await api.post(
                "/sandbox/sms/inbound",
                json={"from": "+61411111111", "to": "+61298441484", "body": "hello"},
            )
            assert replied.status_code == 200, replied.text
            await _until_status(api, "dead")  # a 400 is final at once

            await sign_in(page, server.url, OWNER, OWNER_PASSWORD)
            await page.goto(server.url + "/settings/webhooks")
            rule = page.locator("tr", has_text="Forward replies")
            await expect(rule.locator(".badge")).to_have_text("enabled")
            delivery = page.locator("tr[id^=delivery-]", has_text=peer.url)
            await expect(delivery.locator(".badge")).to_have_text("dead")
            await expect(delivery).to_contain_text("HTTP 400")

            await delivery.get_by_role("button", name="Replay delivery").click()
            await expect(page.get_by_role("status")).to_contain_text("queued again")
            await _until_status(api, "delivered")
            assert [r.answered for r in peer.requests] == [400, 200]
            assert peer.requests[0].headers["webhook-id"] == peer.requests[1].headers["webhook-id"]
            await page.reload()
            await expect(delivery.locator(".badge")).to_have_text("delivered")
            await expect(delivery.get_by_role("button")).to_have_count(0)

            await rule.get_by_role("button", name="Disable Forward replies").click()
            await expect(page.get_by_role("status")).to_have_text("Rule Forward replies disabled.")
            await expect(rule.locator(".badge")).to_have_text("disabled")
            rule_id = made.json()["data"]["inbound_rule_id"]
            read = (await api.get(f"/v3/automations/sms/inbound/{rule_id}")).json()["data"]
            assert read["enabled"] == 0
