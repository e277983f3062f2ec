"""What a subaccount sees follows its permissions as the API's answers do."""

from __future__ import annotations

import httpx
import pytest
from playwright.async_api import Page, expect

from conftest import OWNER, OWNER_KEY, LiveServer
from dashboard_support import sign_in

pytestmark = pytest.mark.asyncio(loop_scope="session")

PASSWORD = "sub-password-1"
REFUSED = "This user does not have the 'access_reporting' permission."


async def _subaccount(api: httpx.AsyncClient, name: str, reporting: int) -> None:
    created = await api.post(
        "/v3/subaccounts",
        json={
            "api_username": name,
            "password": PASSWORD,
            "email": f"{name}@example.com",
            "phone_number": "+12025550100",
            "first_name": "Sub",
            "last_name": "Account",
            "access_reporting": reporting,
        },
    )
    assert created.status_code == 200, created.text


async def _send_sms(api: httpx.AsyncClient) -> str:
    sent = await api.post(
        "/v3/sms/send", json={"messages": [{"to": "+12025550177", "body": "owner's message"}]}
    )
    assert sent.status_code == 200, sent.text
    return str(sent.json()["data"]["messages"][0]["message_id"])


async def test_a_subaccount_without_access_reporting_cannot_open_messages(
    page: Page, server: LiveServer
) -> None:
    async with httpx.AsyncClient(base_url=server.url, auth=(OWNER, OWNER_KEY)) as api:
        await _subaccount(api, "clerk", reporting=0)
        message_id = await _send_sms(api)
    async with httpx.AsyncClient(base_url=server.url, auth=("clerk", PASSWORD)) as clerk:
        statistics = await clerk.get("/v3/statistics/sms")  # the API refuses the same user
    assert statistics.status_code == 403

    await sign_in(page, server.url, "clerk", PASSWORD)

    await expect(page).to_have_url(server.url + "/phone")  # no overview without reporting
    nav = page.get_by_role("navigation", name="Main")
    await expect(nav.get_by_role("link", name="Phone")).to_be_visible()
    await expect(nav.get_by_role("link", name="Messages")).to_have_count(0)
    await expect(page.get_by_role("link", name="+12025550177")).to_have_count(0)  # not its SMS
    for path in ("/messages", f"/messages/{message_id}", "/messages?channel=sms"):
        response = await page.goto(server.url + path)
        assert response is not None and response.status == 403
        await expect(page.get_by_role("alert")).to_have_text(REFUSED)
    stream = await page.request.get(server.url + "/messages/live")
    assert stream.status == 403


async def test_a_subaccount_with_access_reporting_sees_the_accounts_messages(
    page: Page, server: LiveServer
) -> None:
    async with httpx.AsyncClient(base_url=server.url, auth=(OWNER, OWNER_KEY)) as api:
        await _subaccount(api, "analyst", reporting=1)
        message_id = await _send_sms(api)

    await sign_in(page, server.url, "analyst", PASSWORD)
    await page.get_by_role("navigation", name="Main").get_by_role("link", name="Messages").click()

    await expect(page.locator(f"#m-{message_id}")).to_contain_text("owner's message")
    response = await page.goto(server.url + f"/messages/{message_id}")
    assert response is not None and response.status == 200
