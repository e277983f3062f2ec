"""An SMS sent through the API appears in Messages and on the sandbox phone without a
reload, its status changes follow, and a reply typed on the phone reaches the API."""

from __future__ import annotations

import asyncio

import clicksend
import pytest
from playwright.async_api import Page, expect

from conftest import OWNER, OWNER_PASSWORD, LiveServer
from dashboard_support import connected, sign_in
from dovecote.settings import Settings

pytestmark = pytest.mark.asyncio(loop_scope="session")

HANDSET = "+12025550123"


def _api(server: LiveServer, settings: Settings) -> clicksend.SmsApi:
    config = clicksend.Configuration(
        host=server.url, username=settings.owner_username, password=settings.owner_api_key
    )
    return clicksend.SmsApi(clicksend.ApiClient(config))


def _send(api: clicksend.SmsApi, body: str) -> str:
    request = clicksend.SendSmsRequest(
        messages=[clicksend.SendSmsRequestMessagesInner(body=body, to=HANDSET, var_from="Shop")]
    )
    result = api.send_sms(send_sms_request=request)
    assert result.data is not None and result.data.messages is not None
    return str(result.data.messages[0].message_id)


async def _live(page: Page, selector: str) -> None:
    """Wait until the page's event stream is open: what is sent after is shown live."""
    await expect(page.locator(selector)).to_have_attribute("data-connected", "true")


async def test_an_sms_sent_by_the_api_appears_live_in_messages(
    page: Page, server: LiveServer, settings: Settings
) -> None:
    await sign_in(page, server.url, OWNER, OWNER_PASSWORD)
    await page.goto(server.url + "/messages")
    await _live(page, "#rows")
    reloads: list[str] = []
    page.on("framenavigated", lambda frame: reloads.append(frame.url))

    message_id = await asyncio.to_thread(_send, _api(server, settings), "Your parcel is on its way")

    row = page.locator(f"#m-{message_id}")
    await expect(row).to_contain_text("Your parcel is on its way")
    await expect(row).to_contain_text(HANDSET)
    # The worker delivers it in the sandbox: the same row changes status in place.
    await expect(row.locator(".badge")).to_have_text("delivered")
    assert await page.locator("#rows tr").count() == 1
    assert reloads == []

    await connected(page)

    await row.get_by_role("link").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text(f"SMS to {HANDSET}")
    timeline = page.locator(".timeline")
    await expect(timeline).to_contain_text("queued")
    await expect(timeline).to_contain_text("receipt")


async def test_the_sandbox_phone_shows_the_thread_live_and_replies_reach_the_api(
    page: Page, server: LiveServer, settings: Settings
) -> None:
    api = _api(server, settings)
    await asyncio.to_thread(_send, api, "Code 123456 to confirm")
    await sign_in(page, server.url, OWNER, OWNER_PASSWORD)
    await page.goto(server.url + "/phone")
    await page.get_by_role("link", name=HANDSET).click()
    await _live(page, "#bubbles")
    await expect(page.locator("#bubbles .theirs")).to_have_count(1)

    await asyncio.to_thread(_send, api, "Reply YES to keep your booking")

    latest = page.locator("#bubbles .theirs").last
    await expect(latest).to_contain_text("Reply YES to keep your booking")
    await expect(latest.locator(".badge")).to_have_text("delivered")

    await page.get_by_label(f"Reply as {HANDSET}").fill("YES please")
    await page.get_by_role("button", name="Send reply").click()

    await expect(page.locator("#bubbles .mine")).to_contain_text("YES please")
    inbound = await asyncio.to_thread(api.view_inbound_sms)
    assert inbound.data is not None and inbound.data.data is not None
    (reply,) = inbound.data.data
    assert (reply.var_from, reply.to, reply.body) == (HANDSET, "Shop", "YES please")
    assert reply.original_body == "Reply YES to keep your booking"
