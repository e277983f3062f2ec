"""Settings: rotating an API key in the dashboard shows the new key once; the API takes
the new key and refuses the old; the API's rules on whose key one may take hold."""

from __future__ import annotations

import httpx
import pytest
from playwright.async_api import Page, expect

from conftest import OWNER, OWNER_KEY, OWNER_PASSWORD, LiveServer
from dashboard_support import sign_in

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_rotating_my_key_shows_the_new_one_once_and_the_old_one_stops(
    page: Page, server: LiveServer
) -> None:
    await sign_in(page, server.url, OWNER, OWNER_PASSWORD)
    await page.goto(server.url + "/settings")

    await page.get_by_role("button", name="Rotate my API key").click()

    new_key = (await page.locator("#new-key").text_content() or "").strip()
    assert len(new_key) == 36 and new_key != OWNER_KEY
    async with httpx.AsyncClient(base_url=server.url) as api:
        assert (await api.get("/v3/account", auth=(OWNER, new_key))).status_code == 200
        assert (await api.get("/v3/account", auth=(OWNER, OWNER_KEY))).status_code == 401
    await page.goto(server.url + "/settings")
    await expect(page.locator("#new-key")).to_have_count(0)
    assert new_key not in await page.content()


async def test_a_user_cannot_take_the_key_of_one_holding_more_permissions(
    page: Page, server: LiveServer
) -> None:
    async with httpx.AsyncClient(base_url=server.url, auth=(OWNER, OWNER_KEY)) as api:
        for name, reporting in (("admin", 0), ("analyst", 1)):
            created = await api.post(
                "/v3/subaccounts",
                json={
                    "api_username": name,
                    "password": "pass-1234",
                    "email": f"{name}@example.com",
                    "phone_number": "+12025550100",
                    "first_name": "A",
                    "last_name": "B",
                    "access_users": 1,
                    "access_reporting": reporting,
                },
            )
            assert created.status_code == 200, created.text
    await sign_in(page, server.url, "admin", "pass-1234")
    await page.goto(server.url + "/settings")

    await page.get_by_role("button", name="Rotate the API key of analyst").click()

    await expect(page.get_by_role("alert")).to_contain_text(
        "has the 'access_reporting' permission, which you do not have."
    )
    await expect(page.locator("#new-key")).to_have_count(0)
