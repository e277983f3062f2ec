"""Every main page at 1280 px and at 360 px: no serious or critical accessibility
violation (axe-core), nothing wider than a phone's screen, reachable by keyboard; the
screenshots in docs/screenshots/ come from here (`DOVECOTE_SCREENSHOTS=1`: only then are
they taken, ~0.15 s each, since nothing else looks at them).

The pages are checked three at a time, each in a tab of its own: each check waits for
the network to be quiet for 0.5 s after its page loads (Playwright's "networkidle"),
and one page after the other those waits were 7 s of the test's ~18 s."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import clicksend
import httpx
import pytest
import sendgrid
from playwright.async_api import Page, expect
from sendgrid.helpers.mail import Mail

from conftest import OWNER, OWNER_KEY, OWNER_PASSWORD, LiveServer
from dashboard_support import NARROW, SCREENSHOTS, WIDE, axe_violations, sign_in, with_engine
from dovecote.settings import Settings
from sendgrid_support import SENDER, verified_sender

pytestmark = pytest.mark.asyncio(loop_scope="session")

HANDSET = "+12025550142"


def _traffic(server: LiveServer, settings: Settings) -> None:
    config = clicksend.Configuration(
        host=server.url, username=settings.owner_username, password=settings.owner_api_key
    )
    sms = clicksend.SmsApi(clicksend.ApiClient(config))
    sms.send_sms(
        send_sms_request=clicksend.SendSmsRequest(
            messages=[
                clicksend.SendSmsRequestMessagesInner(body=body, to=HANDSET, var_from="Clinic")
                for body in ("Your appointment is tomorrow at 9:30.", "Reply YES to confirm.")
            ]
        )
    )
    mail = sendgrid.SendGridAPIClient(api_key=settings.owner_api_key, host=server.url)
    mail.send(
        Mail(
            from_email=SENDER,
            to_emails="ann@example.net",
            subject="Your sign-in code",
            plain_text_content="Your code is 904412. It expires in 10 minutes.",
            html_content="<h1>Sign in</h1><p>Your code is <b>904412</b>.</p>",
        )
    )


async def _settings_data(api: httpx.AsyncClient) -> int:
    """Something in every settings section; the id of a subaccount to open."""
    for path, body in (
        ("/v3/email/addresses", {"email_address": "ops@example.com"}),
        ("/v3/sms/templates", {"template_name": "Reminder", "body": "See you at {time}."}),
        ("/v3/email/templates", {"template_name": "Welcome", "body": "<p>Hello</p>"}),
        (
            "/v3/automations/sms/inbound",
            {
                "rule_name": "Forward replies",
                "dedicated_number": "*",
                "message_search_type": 0,
                "action": "URL",
                # Nothing listens there: the delivery waits for its retry, its error shown.
                "action_address": "http://127.0.0.1:9/hook",
                "enabled": 1,
            },
        ),
        (
            "/v3/automations/sms/receipts",
            {"rule_name": "Failures", "match_type": 1, "action": "EMAIL_USER", "enabled": 0},
        ),
    ):
        answer = await api.post(path, json=body)
        assert answer.status_code == 200, (path, answer.text)
    created = await api.post(
        "/v3/subaccounts",
        json={
            "api_username": "clerk",
            "password": "clerk-password-1",
            "email": "clerk@example.com",
            "phone_number": "+12025550100",
            "first_name": "Cleo",
            "last_name": "Clerk",
            "access_billing": 0,
            "access_reseller": 0,
        },
    )
    assert created.status_code == 200, created.text
    return int(created.json()["data"]["subaccount_id"])


async def test_the_main_pages_pass_axe_and_fit_a_phone(
    page: Page, server: LiveServer, settings: Settings
) -> None:
    await with_engine(settings, verified_sender)
    await asyncio.to_thread(_traffic, server, settings)
    async with httpx.AsyncClient(base_url=server.url, auth=(OWNER, OWNER_KEY)) as api:
        clerk = await _settings_data(api)
        replied = await api.post(
            "/sandbox/sms/inbound", json={"from": HANDSET, "to": "Clinic", "body": "YES"}
        )
        scripted = [
            await api.post("/dovecote/sandbox/rules", json=rule)
            for rule in (
                {"prefix": "+1555000", "outcome": "failed:302"},
                {"prefix": "bounce@", "outcome": "reject"},
                {"type": "auto_reply", "prefix": "+61412", "text": "Thanks, see you then"},
            )
        ]
    assert replied.status_code == 200
    assert [r.status_code for r in scripted] == [200, 200, 200]
    out = SCREENSHOTS if os.environ.get("DOVECOTE_SCREENSHOTS") == "1" else None
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
    await page.goto(server.url + "/login")
    await _check(page, out, "login")
    await sign_in(page, None, OWNER, OWNER_PASSWORD)
    await expect(page.locator("#rows")).to_have_count(0)  # on the overview
    await page.goto(server.url + "/messages")
    await expect(page.locator("#rows .badge").first).to_have_text("received")
    first_sms = page.locator("#rows tr", has_text="appointment")
    await expect(first_sms.locator(".badge")).to_have_text("delivered")
    message_url = await first_sms.get_by_role("link").get_attribute("href")
    await page.goto(server.url + "/inbox")
    email_url = await page.get_by_role("link", name="Your sign-in code").get_attribute("href")

    pages = {
        "overview": "/",
        "messages": "/messages",
        "message": str(message_url),
        "phone": f"/phone/{HANDSET}",
        "inbox": "/inbox",
        "email": str(email_url),
        "activity": "/activity",
        "sandbox": "/sandbox-rules",
        "settings": "/settings",
        "settings-subaccounts": "/settings/subaccounts",
        "settings-subaccount": f"/settings/subaccounts/{clerk}",
        "settings-addresses": "/settings/addresses",
        "settings-templates": "/settings/templates",
        "settings-webhooks": "/settings/webhooks",
    }
    # Three tabs at most: a live page holds an event stream open, and Chromium opens at
    # most six connections to one host.
    tabs = asyncio.Semaphore(3)

    async def check(name: str, path: str) -> None:
        async with tabs:
            tab = await page.context.new_page()  # signed in too: the same context
            tab.set_default_timeout(10_000)
            try:
                await tab.goto(server.url + path)
                await _check(tab, out, name)
            finally:
                await tab.close()

    async with asyncio.TaskGroup() as group:
        for name, path in pages.items():
            group.create_task(check(name, path))

    # Keyboard: the skip link comes first and moves focus to the content.
    await page.goto(server.url + "/messages")
    await page.keyboard.press("Tab")
    await expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    await page.keyboard.press("Enter")
    await expect(page.locator("main")).to_be_focused()


async def _check(page: Page, out: Path | None, name: str) -> None:
    for label, size in (("1280", WIDE), ("360", NARROW)):
        await page.set_viewport_size(size)  # type: ignore[arg-type]
        await page.wait_for_load_state("networkidle")
        violations = await axe_violations(page)
        assert violations == [], (name, label, [(v["id"], v["help"]) for v in violations])
        width = await page.evaluate("document.documentElement.scrollWidth")
        assert width <= size["width"], (name, label, width)
        if out is not None:
            await page.screenshot(path=str(out / f"{name}-{label}.png"), full_page=True)
