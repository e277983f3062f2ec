"""Email Activity in the dashboard: SendGrid's query language, its exact errors, CSV."""

from __future__ import annotations

import asyncio

import httpx
import pytest
import sendgrid
from playwright.async_api import Page, expect
from sendgrid.helpers.mail import Mail

from conftest import OWNER, OWNER_PASSWORD, LiveServer
from dashboard_support import sign_in, with_engine
from dovecote.settings import Settings
from sendgrid_support import SENDER, bearer, verified_sender

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_a_query_with_an_unknown_field_shows_the_servers_exact_error(
    page: Page, server: LiveServer, settings: Settings
) -> None:
    query = 'colour="red"'
    async with httpx.AsyncClient(base_url=server.url, headers=bearer(settings)) as api:
        answer = await api.get("/v3/messages", params={"query": query, "limit": 10})
    assert answer.status_code == 400
    expected = answer.json()["errors"][0]["message"]
    await sign_in(page, server.url, OWNER, OWNER_PASSWORD)
    await page.goto(server.url + "/activity")

    await page.get_by_label("Query (SendGrid's Email Activity language)").fill(query)
    await page.get_by_role("button", name="Search").click()

    await expect(page.locator("#query-error")).to_have_text(expected)
    assert expected == "invalid syntax: 'colour' is not a known field"
    await expect(page).to_have_url(server.url + "/activity?query=colour%3D%22red%22")


def _send(server: LiveServer, settings: Settings, to: str, subject: str) -> None:
    client = sendgrid.SendGridAPIClient(api_key=settings.owner_api_key, host=server.url)
    message = Mail(from_email=SENDER, to_emails=to, subject=subject, plain_text_content="hi")
    assert client.send(message).status_code == 202


async def test_a_query_finds_email_and_its_csv_holds_the_same_rows(
    page: Page, server: LiveServer, settings: Settings
) -> None:
    await with_engine(settings, verified_sender)
    await asyncio.to_thread(_send, server, settings, "ann@example.net", "=HYPERLINK(1)")
    await asyncio.to_thread(_send, server, settings, "bob@example.org", "For Bob")
    await sign_in(page, server.url, OWNER, OWNER_PASSWORD)

    await page.goto(server.url + '/activity?query=to_email%3D"ann@example.net"')

    rows = page.locator("#results tbody tr")
    await expect(rows).to_have_count(1)
    await expect(rows).to_contain_text("ann@example.net")
    async with page.expect_download() as download:
        await page.get_by_role("link", name="Download CSV").click()
    path = await (await download.value).path()
    lines = path.read_text().splitlines()
    assert lines[0].startswith("msg_id,from_email,to_email,subject")
    assert len(lines) == 2 and "ann@example.net" in lines[1]
    assert ",'=HYPERLINK(1)," in lines[1]  # a formula is defused for spreadsheets
