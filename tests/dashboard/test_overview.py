"""The overview's spend: per day beside the message counts (a second chart, its numbers
in a table too) and the period's total, equal to the charges of the messages sent."""

from __future__ import annotations

import json
from decimal import Decimal

import httpx
import pytest
from playwright.async_api import Page, expect

from conftest import OWNER, OWNER_KEY, OWNER_PASSWORD, LiveServer
from dashboard_support import sign_in

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_the_spend_total_and_days_are_the_charges_of_the_messages_sent(
    page: Page, server: LiveServer
) -> None:
    async with httpx.AsyncClient(base_url=server.url, auth=(OWNER, OWNER_KEY)) as api:
        sent = await api.post(
            "/v3/sms/send",
            json={
                "messages": [
                    {"to": "+12025550171", "body": "Short one."},
                    {"to": "+447700900123", "body": "To the UK."},
                    {"to": "+12025550172", "body": "Long " * 40},  # two parts: twice the price
                ]
            },
        )
        currency = (await api.get("/v3/account")).json()["data"]["_currency"]["currency_name_short"]
    assert sent.status_code == 200, sent.text
    charges = [Decimal(m["message_price"]) for m in sent.json()["data"]["messages"]]
    assert len(set(charges)) > 1  # different prices, so a wrong sum would show
    total = sum(charges, Decimal(0))

    await sign_in(page, server.url, OWNER, OWNER_PASSWORD)
    await page.goto(server.url + "/?days=7")

    expected = f"{total.normalize():f} {currency}"
    await expect(page.locator("#spend-total")).to_have_text(expected)
    await expect(page.locator(".tiles")).to_contain_text(expected)
    chart = json.loads(str(await page.locator("#spend-chart").get_attribute("data-chart")))
    [series] = chart["series"]
    assert len(series["values"]) == len(chart["x"]) == 7
    assert Decimal(str(sum(series["values"]))).quantize(Decimal("0.0001")) == total
    await expect(page.locator("#spend-chart canvas")).to_have_count(1)  # uPlot drew it
    await page.get_by_text("By day", exact=True).click()
    await expect(page.get_by_role("table", name="Spend by day")).to_contain_text(expected)
