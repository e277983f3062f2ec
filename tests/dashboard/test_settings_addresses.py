"""Settings › Sender addresses: an address added in the browser is pending, its
verification email went out (the sandbox inbox has it), and the API lists it unverified."""

from __future__ import annotations

import httpx
import pytest
from playwright.async_api import Dialog, Page, expect

from conftest import OWNER, OWNER_KEY, OWNER_PASSWORD, LiveServer
from dashboard_support import sign_in

pytestmark = pytest.mark.asyncio(loop_scope="session")

ADDRESS = "ops@example.com"


async def _accept(dialog: Dialog) -> None:
    await dialog.accept()


async def test_an_added_address_is_pending_and_its_verification_is_mailed(
    page: Page, server: LiveServer
) -> None:
    page.on("dialog", _accept)
    await sign_in(page, server.url, OWNER, OWNER_PASSWORD)
    await page.goto(server.url + "/settings/addresses")

    await page.get_by_label("Email address").fill(ADDRESS)
    await page.get_by_role("button", name="Add and send verification").click()

    await expect(page.get_by_role("status")).to_contain_text(f"{ADDRESS} added")
    row = page.locator("tr", has_text=ADDRESS)
    await expect(row.locator(".badge")).to_have_text("pending")
    async with httpx.AsyncClient(base_url=server.url, auth=(OWNER, OWNER_KEY)) as api:
        [listed] = (await api.get("/v3/email/addresses")).json()["data"]["data"]
    assert (listed["email_address"], listed["verified"]) == (ADDRESS, 0)

    await row.get_by_role("button", name=f"Re-send verification to {ADDRESS}").click()
    await expect(page.get_by_role("status")).to_have_text("Verification email sent again.")
    await page.goto(server.url + "/inbox")
    await expect(page.get_by_role("link", name="Verify your sender address")).to_have_count(2)

    # The same address again: the domain's refusal, inline.
    await page.goto(server.url + "/settings/addresses")
    await page.get_by_label("Email address").fill(ADDRESS.upper())
    await page.get_by_role("button", name="Add and send verification").click()
    await expect(page.get_by_role("alert")).to_contain_text("already exists in this account")

    await page.get_by_role("button", name=f"Delete {ADDRESS}").click()
    await expect(page.get_by_role("status")).to_have_text("Address deleted.")
    await expect(page.locator("tr", has_text=ADDRESS)).to_have_count(0)
