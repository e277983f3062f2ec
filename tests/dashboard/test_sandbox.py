"""The Sandbox page: the account's scripted outcomes, edited in the browser, decide the
next SMS the running server delivers; a bad rule is refused beside the form; the page
needs `access_settings` and every change its CSRF token."""

from __future__ import annotations

import httpx
import pytest
from playwright.async_api import Page, expect

from conftest import OWNER, OWNER_KEY, OWNER_PASSWORD, LiveServer
from dashboard_support import sign_in
from dovecote.settings import Settings

pytestmark = pytest.mark.asyncio(loop_scope="session")

HANDSET = "+12025550142"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # Every batch checks the scripts' version: the SMS sent right after the rule is added
    # must see it (by default a worker looks at most once a second).
    return settings.model_copy(update={"sandbox_refresh_seconds": 0})


async def _send(api: httpx.AsyncClient, body: str) -> str:
    sent = await api.post(
        "/v3/sms/send", json={"messages": [{"to": HANDSET, "body": body, "from": "Clinic"}]}
    )
    assert sent.status_code == 200, sent.text
    return str(sent.json()["data"]["messages"][0]["message_id"])


async def test_a_rule_added_on_the_page_fails_the_next_sms(page: Page, server: LiveServer) -> None:
    await sign_in(page, server.url, OWNER, OWNER_PASSWORD)
    await page.get_by_role("navigation", name="Main").get_by_role("link", name="Sandbox").click()
    await expect(page).to_have_url(server.url + "/sandbox-rules")
    await page.get_by_label("Prefix").first.fill("+1202555")
    await page.get_by_label("Outcome").fill("failed:302")
    await page.get_by_role("button", name="Add rule").click()
    saved = page.get_by_role("button", name="Save +1202555=failed:302")
    await expect(saved).to_be_visible()

    async with httpx.AsyncClient(base_url=server.url, auth=(OWNER, OWNER_KEY)) as api:
        message_id = await _send(api, "Your appointment is tomorrow.")
        await page.goto(server.url + "/messages")
        await expect(page.locator(f"#m-{message_id} .badge")).to_have_text("failed")
        history = (await api.get("/v3/sms/history")).json()["data"]["data"]
    [row] = [r for r in history if r["message_id"] == message_id]
    assert (row["status"], row["status_code"]) == ("Failed", "302")


async def test_a_bad_rule_is_refused_beside_the_form_and_rules_are_edited_and_removed(
    page: Page, server: LiveServer
) -> None:
    await sign_in(page, server.url, OWNER, OWNER_PASSWORD)
    await page.goto(server.url + "/sandbox-rules")
    await page.locator("#rule-prefix").fill("+1555")
    await page.locator("#rule-outcome").fill("explode")
    async with page.expect_navigation() as refused:
        await page.get_by_role("button", name="Add rule").click()
    assert (await refused.value).status == 400
    await expect(page.get_by_role("alert")).to_contain_text("'explode' is not a sandbox outcome")
    await expect(page.locator("#rule-outcome")).to_have_value("explode")  # kept to fix
    await expect(page.get_by_text("No rules of your own yet.")).to_be_visible()

    await page.locator("#rule-outcome").fill("expired")
    await page.get_by_role("button", name="Add rule").click()
    await page.get_by_label("Outcome of +1555=expired").fill("defer: 2")
    await page.get_by_role("button", name="Save +1555=expired").click()
    await expect(page.get_by_role("button", name="Save +1555=defer:2")).to_be_visible()

    await page.locator("#reply-prefix").fill("+61412")
    await page.locator("#reply-text").fill("Thanks, see you then")
    await page.get_by_role("button", name="Add auto-reply").click()
    async with httpx.AsyncClient(base_url=server.url, auth=(OWNER, OWNER_KEY)) as api:
        listed = (await api.get("/dovecote/sandbox/rules")).json()["data"]["data"]
    assert [r["line"] for r in listed] == ["+1555=defer:2", "+61412=Thanks, see you then"]

    await page.get_by_role("button", name="Delete +1555=defer:2").click()
    await expect(page.get_by_text("No rules of your own yet.")).to_be_visible()
    await expect(
        page.get_by_role("button", name="Delete +61412=Thanks, see you then")
    ).to_be_visible()


async def test_changes_need_the_csrf_token_and_the_page_access_settings(
    page: Page, server: LiveServer
) -> None:
    async with httpx.AsyncClient(base_url=server.url, auth=(OWNER, OWNER_KEY)) as api:
        created = await api.post(
            "/v3/subaccounts",
            json={
                "api_username": "clerk",
                "password": "sub-password-1",
                "email": "clerk@example.com",
                "phone_number": "+12025550100",
                "first_name": "Sub",
                "last_name": "Account",
                "access_settings": 0,
            },
        )
        assert created.status_code == 200, created.text
    await sign_in(page, server.url, OWNER, OWNER_PASSWORD)
    forged = await page.request.post(
        server.url + "/sandbox-rules", form={"kind": "rule", "prefix": "+1", "outcome": "reject"}
    )
    assert forged.status == 403
    async with httpx.AsyncClient(base_url=server.url, auth=(OWNER, OWNER_KEY)) as api:
        assert (await api.get("/dovecote/sandbox/rules")).json()["data"]["data"] == []

    await page.context.clear_cookies()
    await sign_in(page, server.url, "clerk", "sub-password-1")
    nav = page.get_by_role("navigation", name="Main")
    await expect(nav.get_by_role("link", name="Sandbox")).to_have_count(0)
    response = await page.goto(server.url + "/sandbox-rules")
    assert response is not None and response.status == 403
    await expect(page.get_by_role("alert")).to_contain_text("access_settings")
