"""The sandbox inbox shows an email's HTML in a sandboxed frame where nothing it carries
runs, its text with the one-time code marked, its headers and its raw MIME."""

from __future__ import annotations

import asyncio

import pytest
import sendgrid
from playwright.async_api import Page, expect
from sendgrid.helpers.mail import Mail

from conftest import OWNER, OWNER_PASSWORD, LiveServer
from dashboard_support import sign_in, with_engine
from dovecote.settings import Settings
from sendgrid_support import SENDER, verified_sender

pytestmark = pytest.mark.asyncio(loop_scope="session")

HOSTILE = (
    "<h1>Your code</h1><p>Use <b>482913</b> to sign in.</p>"
    "<script>window.parent.document.title = 'pwned-by-script'; "
    "document.body.dataset.ran = 'script';</script>"
    '<img src="x" onerror="window.parent.document.title = \'pwned-by-img\'; '
    "document.body.dataset.ran = 'img';\">"
    '<img src="https://images.example/track.png" alt="tracker">'
    '<a href="https://example.org/more">More</a>'
)


def _send(server: LiveServer, settings: Settings) -> None:
    client = sendgrid.SendGridAPIClient(api_key=settings.owner_api_key, host=server.url)
    message = Mail(
        from_email=SENDER,
        to_emails="ann@example.net",
        subject="Your sign-in code",
        plain_text_content="Use 482913 to sign in.",
        html_content=HOSTILE,
    )
    assert client.send(message).status_code == 202


async def test_an_html_email_is_shown_without_running_anything_it_carries(
    page: Page, server: LiveServer, settings: Settings
) -> None:
    await with_engine(settings, verified_sender)
    await asyncio.to_thread(_send, server, settings)
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: dialogs.append(dialog.message))
    await sign_in(page, server.url, OWNER, OWNER_PASSWORD)
    await page.goto(server.url + "/inbox")

    await page.get_by_role("link", name="Your sign-in code").click()

    await expect(page.get_by_role("heading", level=1)).to_have_text("Your sign-in code")
    frame_element = page.locator("iframe.preview")
    assert await frame_element.get_attribute("sandbox") == (
        "allow-popups allow-popups-to-escape-sandbox"
    )
    frame = page.frame_locator("iframe.preview")
    await expect(frame.get_by_role("heading", name="Your code")).to_be_visible()
    await expect(frame.get_by_role("link", name="More")).to_have_attribute(
        "href", "https://example.org/more"
    )
    # Scripts are off in the frame: neither the <script> nor the onerror handler ran
    # (each would have marked the frame's body, and tried to retitle this page).
    await page.wait_for_timeout(500)  # the broken image has had time to fail
    inner = page.frames[1]
    assert await inner.evaluate("document.body.dataset.ran === undefined") is True
    assert "pwned" not in await page.title()
    assert dialogs == []
    # The frame's own document carries a CSP that forbids scripts and remote images.
    src = await frame_element.get_attribute("src")
    assert src is not None
    preview = await page.request.get(server.url + src)
    csp = preview.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "sandbox" in csp and "https:" not in csp
    assert (
        await inner.evaluate("document.querySelector('img[alt=tracker]').naturalWidth") == 0
    )  # blocked, not fetched
    await expect(page.get_by_text("Remote images are blocked.")).to_be_visible()

    # The text part, with the one-time code marked, and the raw MIME to download.
    await expect(page.locator("pre.body mark.code")).to_have_text("482913")
    async with page.expect_download() as download:
        await page.get_by_role("link", name="Download the raw MIME (.eml)").click()
    raw = (await download.value).suggested_filename
    assert raw.endswith(".eml")
