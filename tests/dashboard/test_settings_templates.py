"""Settings › Templates: an SMS template created, edited and deleted in the browser is
what the API reads back; an email template too."""

from __future__ import annotations

import httpx
import pytest
from playwright.async_api import Dialog, Page, expect

from conftest import OWNER, OWNER_KEY, OWNER_PASSWORD, LiveServer
from dashboard_support import sign_in

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def _accept(dialog: Dialog) -> None:
    await dialog.accept()


async def test_an_sms_template_made_edited_and_deleted_here_is_what_the_api_reads(
    page: Page, server: LiveServer
) -> None:
    page.on("dialog", _accept)
    await sign_in(page, server.url, OWNER, OWNER_PASSWORD)
    await page.goto(server.url + "/settings/templates")
    sms = page.get_by_role("region", name="SMS templates")

    await sms.get_by_label("Name").fill("Reminder")
    await sms.get_by_label("Body").fill("See you at {time}.")
    await sms.get_by_role("button", name="Create SMS template").click()
    await expect(page.get_by_role("status")).to_have_text("Template Reminder created.")

    api = httpx.AsyncClient(base_url=server.url, auth=(OWNER, OWNER_KEY))
    async with api:
        [made] = (await api.get("/v3/sms/templates")).json()["data"]["data"]
        assert (made["template_name"], made["body"]) == ("Reminder", "See you at {time}.")

        await sms.get_by_text("Reminder", exact=True).click()  # open its disclosure
        await sms.get_by_label("Body").first.fill("See you at {time}, {name}.")
        await sms.get_by_role("button", name="Save Reminder").click()
        await expect(page.get_by_role("status")).to_have_text("Template Reminder saved.")
        read = (await api.get(f"/v3/sms/templates/{made['template_id']}")).json()["data"]
        assert read["body"] == "See you at {time}, {name}."

        # An empty name is the domain's refusal, inline; the template is unchanged.
        await sms.get_by_text("Reminder", exact=True).click()
        await sms.get_by_label("Name").first.fill(" ")
        await sms.get_by_role("button", name="Save Reminder").click()
        await expect(page.get_by_role("alert")).to_have_text("template_name is required.")

        await sms.get_by_text("Reminder", exact=True).click()
        await sms.get_by_role("button", name="Delete Reminder").click()
        await expect(page.get_by_role("status")).to_have_text("Template deleted.")
        assert (await api.get("/v3/sms/templates")).json()["data"]["data"] == []

        email = page.get_by_role("region", name="Email templates")
        await email.get_by_label("Name").fill("Welcome")
        await email.get_by_label("Body").fill("<p>Hello {first_name}</p>")
        await email.get_by_role("button", name="Create email template").click()
        await expect(page.get_by_role("status")).to_have_text("Template Welcome created.")
        [mail] = (await api.get("/v3/email/templates")).json()["data"]["data"]
        shown = (await api.get(f"/v3/email/templates/{mail['template_id']}")).json()["data"]
        assert (shown["template_name"], shown["body"]) == ("Welcome", "<p>Hello {first_name}</p>")


async def test_a_template_can_be_made_and_edited_with_the_keyboard_alone(
    page: Page, server: LiveServer
) -> None:
    await sign_in(page, server.url, OWNER, OWNER_PASSWORD)
    await page.goto(server.url + "/settings/templates")
    sms = page.get_by_role("region", name="SMS templates")
    last_link = page.get_by_role("navigation", name="Settings").get_by_role("link", name="Webhooks")

    await last_link.focus()
    await page.keyboard.press("Tab")  # no templates yet: the new one's name comes next
    await expect(sms.get_by_label("Name")).to_be_focused()
    await page.keyboard.type("Hello")
    await page.keyboard.press("Tab")
    await page.keyboard.type("Hi there")
    await page.keyboard.press("Tab")
    await expect(sms.get_by_role("button", name="Create SMS template")).to_be_focused()
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("status")).to_have_text("Template Hello created.")
    await expect(page.get_by_role("status")).to_be_focused()  # not lost with the button

    await last_link.focus()
    await page.keyboard.press("Tab")
    await expect(sms.locator("summary")).to_be_focused()
    await page.keyboard.press("Enter")  # opens the disclosure
    for _ in range(2):
        await page.keyboard.press("Tab")
    await expect(sms.get_by_label("Body").first).to_be_focused()
    await page.keyboard.press("End")
    await page.keyboard.type("!")
    await page.keyboard.press("Tab")
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("status")).to_have_text("Template Hello saved.")
    await expect(page.get_by_role("status")).to_be_focused()
    async with httpx.AsyncClient(base_url=server.url, auth=(OWNER, OWNER_KEY)) as api:
        [made] = (await api.get("/v3/sms/templates")).json()["data"]["data"]
    assert (made["template_name"], made["body"]) == ("Hello", "Hi there!")
