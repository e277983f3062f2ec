"""The settings sections refuse what the API refuses: a subaccount without the
permission behind a section sees neither its link nor its page, by menu, typed URL or
POST; and no section changes anything on a POST without the session's CSRF token."""

from __future__ import annotations

import httpx
import pytest
from playwright.async_api import Page, expect

from conftest import OWNER, OWNER_KEY, OWNER_PASSWORD, LiveServer
from dashboard_support import sign_in

pytestmark = pytest.mark.asyncio(loop_scope="session")

PASSWORD = "helper-password-1"
SECTIONS = {
    "Subaccounts": ("access_users", "/settings/subaccounts"),
    "Sender addresses": ("access_email", "/settings/addresses"),
    "Webhooks": ("access_settings", "/settings/webhooks"),
}
NEW_USER = {
    "api_username": "intruder",
    "password": "x-password-1",
    "email": "x@example.com",
    "phone_number": "+61411111119",
    "first_name": "X",
    "last_name": "Y",
}


async def _state(api: httpx.AsyncClient) -> tuple[list[str], int, int]:
    users = (await api.get("/v3/subaccounts")).json()["data"]["data"]
    addresses = (await api.get("/v3/email/addresses")).json()["data"]["total"]
    templates = (await api.get("/v3/email/templates")).json()["data"]["total"]
    return [user["api_username"] for user in users], addresses, templates


async def test_a_subaccount_without_the_permissions_gets_no_link_no_page_and_no_post(
    page: Page, server: LiveServer
) -> None:
    async with httpx.AsyncClient(base_url=server.url, auth=(OWNER, OWNER_KEY)) as api:
        created = await api.post(
            "/v3/subaccounts",
            json={
                "api_username": "helper",
                "password": PASSWORD,
                "email": "helper@example.com",
                "phone_number": "+61411111118",
                "first_name": "H",
                "last_name": "L",
                "access_users": 0,
                "access_email": 0,
                "access_settings": 0,
            },
        )
        assert created.status_code == 200, created.text
        before = await _state(api)
    async with httpx.AsyncClient(base_url=server.url, auth=("helper", PASSWORD)) as helper:
        for path in ("/v3/subaccounts", "/v3/email/addresses", "/dovecote/webhooks/deliveries"):
            assert (await helper.get(path)).status_code == 403, path  # the API's answer

    await sign_in(page, server.url, "helper", PASSWORD)
    await page.goto(server.url + "/settings")
    csrf = await page.locator("input[name=csrf_token]").first.get_attribute("value")
    nav = page.get_by_role("navigation", name="Settings")
    await expect(nav.get_by_role("link", name="Templates")).to_be_visible()
    for name, (flag, path) in SECTIONS.items():
        await expect(nav.get_by_role("link", name=name)).to_have_count(0)
        response = await page.goto(server.url + path)
        assert response is not None and response.status == 403, path
        await expect(page.get_by_role("alert")).to_have_text(
            f"This user does not have the '{flag}' permission."
        )
    # The templates page shows the SMS part only: email templates take access_email.
    await page.goto(server.url + "/settings/templates")
    await expect(page.get_by_role("region", name="SMS templates")).to_be_visible()
    await expect(page.get_by_role("region", name="Email templates")).to_have_count(0)

    token = {"csrf_token": str(csrf)}
    for path, form in (
        ("/settings/subaccounts", {**NEW_USER, **token}),
        ("/settings/subaccounts/1/delete", token),
        ("/settings/addresses", {"email": "x@example.com", **token}),
        ("/settings/templates/email", {"name": "X", "body": "<p>x</p>", **token}),
        ("/settings/webhooks/deliveries/1/replay", token),
        ("/settings/webhooks/rules/sms_inbound/1", {"enabled": "0", **token}),
    ):
        refused = await page.request.post(
            server.url + path, form=dict[str, str | float | bool](form)
        )
        assert refused.status == 403, path
    async with httpx.AsyncClient(base_url=server.url, auth=(OWNER, OWNER_KEY)) as api:
        assert await _state(api) == before


async def test_a_settings_post_without_the_csrf_token_changes_nothing(
    page: Page, server: LiveServer
) -> None:
    await sign_in(page, server.url, OWNER, OWNER_PASSWORD)
    async with httpx.AsyncClient(base_url=server.url, auth=(OWNER, OWNER_KEY)) as api:
        before = await _state(api)
        for path, form in (
            ("/settings/subaccounts", NEW_USER),
            ("/settings/addresses", {"email": "x@example.com"}),
            ("/settings/templates/email", {"name": "X", "body": "<p>x</p>"}),
            ("/settings/templates/sms", {"name": "X", "body": "x", "csrf_token": "forged"}),
        ):
            refused = await page.request.post(
                server.url + path, form=dict[str, str | float | bool](form)
            )
            assert refused.status == 403, path
            assert "security token" in await refused.text()
        assert await _state(api) == before
        assert (await api.get("/v3/sms/templates")).json()["data"]["total"] == 0
