"""Settings › Subaccounts: a subaccount created, changed and deleted in the browser is
what the API then lets in, refuses and forgets; the domain's refusals show inline."""

from __future__ import annotations

import httpx
import pytest
from playwright.async_api import Dialog, Page, expect

from conftest import OWNER, OWNER_KEY, OWNER_PASSWORD, LiveServer
from dashboard_support import sign_in

pytestmark = pytest.mark.asyncio(loop_scope="session")

PASSWORD = "clerk-password-1"
SMS = {"messages": [{"to": "+61411111111", "body": "from the clerk"}]}


async def _accept(dialog: Dialog) -> None:
    await dialog.accept()


async def test_a_subaccount_made_in_the_dashboard_gets_exactly_its_permissions_in_the_api(
    page: Page, server: LiveServer
) -> None:
    page.on("dialog", _accept)  # the delete confirmation
    await sign_in(page, server.url, OWNER, OWNER_PASSWORD)
    await page.goto(server.url + "/settings")
    await (
        page.get_by_role("navigation", name="Settings")
        .get_by_role("link", name="Subaccounts")
        .click()
    )

    form = page.locator("form", has=page.get_by_role("button", name="Create subaccount"))
    for label, value in (
        ("Username", "clerk"),
        ("Password", PASSWORD),
        ("Email", "clerk@example.com"),
        ("Phone number", "+61411111112"),
        ("First name", "Cleo"),
        ("Last name", "Clerk"),
    ):
        await form.get_by_label(label, exact=True).fill(value)
    await form.get_by_label("sms", exact=True).uncheck()
    await form.get_by_role("button", name="Create subaccount").click()

    await expect(page.get_by_role("status")).to_have_text("Subaccount clerk created.")
    key = (await page.locator("#new-key").text_content() or "").strip()
    row = page.locator("tr", has_text="clerk@example.com")
    await expect(row).to_contain_text("Cleo Clerk")
    async with httpx.AsyncClient(base_url=server.url, auth=("clerk", PASSWORD)) as clerk:
        assert (await clerk.get("/v3/account")).status_code == 200
        refused = await clerk.post("/v3/sms/send", json=SMS)
        assert refused.status_code == 403, refused.text
        assert "access_sms" in refused.json()["response_msg"]
    async with httpx.AsyncClient(base_url=server.url, auth=("clerk", key)) as by_key:
        assert (await by_key.get("/v3/account")).status_code == 200

    # A second one of the same name: the domain's refusal, inline, nothing else changed.
    for label, value in (
        ("Username", "CLERK"),
        ("Password", PASSWORD),
        ("Email", "other@example.com"),
        ("Phone number", "+61411111113"),
        ("First name", "O"),
        ("Last name", "T"),
    ):
        await form.get_by_label(label, exact=True).fill(value)
    await form.get_by_role("button", name="Create subaccount").click()
    await expect(page.get_by_role("alert")).to_have_text("The username 'CLERK' is already taken.")

    await row.get_by_role("link", name="Edit clerk").click()
    await expect(page.get_by_role("heading", name="Subaccount clerk")).to_be_visible()
    await page.get_by_label("sms", exact=True).check()
    await page.get_by_label("reporting", exact=True).uncheck()
    await page.get_by_role("button", name="Save").click()
    await expect(page.get_by_role("status")).to_have_text("Saved.")

    async with httpx.AsyncClient(base_url=server.url, auth=("clerk", PASSWORD)) as clerk:
        sent = await clerk.post("/v3/sms/send", json=SMS)
        assert sent.status_code == 200, sent.text
        assert (await clerk.get("/v3/statistics/sms")).status_code == 403

    await page.get_by_role("button", name="Delete clerk").click()
    await expect(page.get_by_role("status")).to_have_text("Subaccount clerk deleted.")
    await expect(page).to_have_url(server.url + "/settings/subaccounts")
    await expect(page.locator("tr", has_text="clerk@example.com")).to_have_count(0)
    async with httpx.AsyncClient(base_url=server.url, auth=("clerk", PASSWORD)) as clerk:
        assert (await clerk.get("/v3/account")).status_code == 401
    async with httpx.AsyncClient(base_url=server.url, auth=(OWNER, OWNER_KEY)) as api:
        listed = (await api.get("/v3/subaccounts")).json()["data"]["data"]
    assert [user["api_username"] for user in listed] == [OWNER]


async def test_a_field_longer_than_its_column_is_refused_inline_and_nothing_is_made(
    page: Page, server: LiveServer
) -> None:
    await sign_in(page, server.url, OWNER, OWNER_PASSWORD)
    await page.goto(server.url + "/settings/subaccounts")
    csrf = str(await page.locator("input[name=csrf_token]").first.get_attribute("value"))
    form: dict[str, str | float | bool] = {
        "csrf_token": csrf,
        "api_username": "longphone",
        "password": PASSWORD,
        "email": "long@example.com",
        "phone_number": "+6" + "1" * 40,  # the column holds 32 (a 500 on PostgreSQL)
        "first_name": "L",
        "last_name": "P",
    }

    refused = await page.request.post(server.url + "/settings/subaccounts", form=form)

    assert refused.status == 400
    assert "phone_number must be at most 32 characters." in await refused.text()
    async with httpx.AsyncClient(base_url=server.url, auth=(OWNER, OWNER_KEY)) as api:
        assert (await api.get("/v3/subaccounts")).json()["data"]["total"] == 1
