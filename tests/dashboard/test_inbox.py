"""The sandbox inbox shows an email's HTML in a sandboxed frame where nothing it carries
runs, its text with the one-time code marked, its headers and its raw MIME; attachments
download with their exact bytes and are never rendered."""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path

import httpx
import pytest
import sendgrid
from playwright.async_api import Page, expect
from sendgrid.helpers.mail import Attachment, Disposition, FileContent, FileName, FileType, Mail

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


PAYLOAD = bytes(range(256)) * 4  # every byte value: nothing re-encoded on the way
HTML_ATTACHMENT = b"<html><script>document.title='ran'</script><p>not rendered</p></html>"


def _send_attachments(server: LiveServer, settings: Settings) -> None:
    client = sendgrid.SendGridAPIClient(api_key=settings.owner_api_key, host=server.url)
    message = Mail(
        from_email=SENDER,
        to_emails="ann@example.net",
        subject="Your documents",
        plain_text_content="Two files attached.",
    )
    for data, name, kind in (
        (PAYLOAD, "report 2026.bin", "application/octet-stream"),
        (HTML_ATTACHMENT, "page.html", "text/html"),
    ):
        message.add_attachment(
            Attachment(
                FileContent(base64.b64encode(data).decode()),
                FileName(name),
                FileType(kind),
                Disposition("attachment"),
            )
        )
    assert client.send(message).status_code == 202


async def test_an_attachment_downloads_with_its_exact_bytes_and_never_renders(
    page: Page, server: LiveServer, settings: Settings
) -> None:
    await with_engine(settings, verified_sender)
    await asyncio.to_thread(_send_attachments, server, settings)
    await sign_in(page, server.url, OWNER, OWNER_PASSWORD)
    await page.goto(server.url + "/inbox")
    await page.get_by_role("link", name="Your documents").click()

    listed = page.locator("ul.attachments li")
    # The SendGrid helper puts each attachment it is given first.
    await expect(listed).to_have_text(
        [
            f"page.html (text/html, {len(HTML_ATTACHMENT)} bytes)",
            f"report 2026.bin (application/octet-stream, {len(PAYLOAD)} bytes)",
        ]
    )
    async with page.expect_download() as started:
        await page.get_by_role("link", name="report 2026.bin").click()
    download = await started.value
    assert download.suggested_filename == "report 2026.bin"
    assert await asyncio.to_thread(Path(await download.path()).read_bytes) == PAYLOAD

    html_link = page.get_by_role("link", name="page.html")
    async with page.expect_download() as html_started:
        await html_link.click()  # a download, not a page: its script never runs
    html_path = Path(await (await html_started.value).path())
    assert await asyncio.to_thread(html_path.read_bytes) == HTML_ATTACHMENT
    assert await page.title() != "ran"
    href = server.url + str(await html_link.get_attribute("href"))
    response = await page.request.get(href)
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["content-disposition"].startswith('attachment; filename="page.html"')
    assert "sandbox" in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert await response.body() == HTML_ATTACHMENT

    assert href.endswith("/attachments/1")
    missing = await page.request.get(href.rsplit("/", 1)[0] + "/3")
    assert missing.status == 404
    async with httpx.AsyncClient() as anonymous:
        refused = await anonymous.get(href)
    assert refused.status_code == 303  # to the sign-in page: nobody else's download
