"""A real browser for the dashboard tests: Debian's Chromium driven by Playwright.

Playwright's own browser download is not used (it cannot be fetched here); `make test`
installs `chromium` through apt when /usr/bin/chromium is missing, and a missing browser
fails the tests (never skips them). One browser serves the whole session; each test
gets a fresh context (cookies, storage) on it, and a Dovecote of its own on loopback.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx
from fastapi import FastAPI
from playwright.async_api import Page, expect

from conftest import OWNER, OWNER_PASSWORD
from dovecote.settings import Settings
from dovecote.storage.db import create_engine

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
AXE = Path(__file__).parent / "dashboard" / "vendor" / "axe-4.14.1.min.js"
SCREENSHOTS = Path(__file__).parent.parent / "docs" / "screenshots"
WIDE = {"width": 1280, "height": 900}
NARROW = {"width": 360, "height": 780}
T = TypeVar("T")


async def sign_in(page: Page, base_url: str | None, username: str, password: str) -> None:
    """Sign in through the form: at `/login`, or on the sign-in page already open."""
    if base_url is not None:
        await page.goto(base_url + "/login")
    await page.get_by_label("Username").fill(username)
    await page.get_by_label("Password").fill(password)
    async with page.expect_navigation():
        await page.get_by_role("button", name="Sign in").click()


async def connected(page: Page) -> None:
    """Wait until the live list has opened its stream and taken its current state (it
    replaces its rows once then): a click during that swap presses one row and releases
    on its replacement, which is no click at all."""
    await expect(page.locator("#rows")).to_have_attribute("data-connected", "true")


async def axe_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the page as it is."""
    # Evaluated through the DevTools protocol, which the pages' CSP (script-src 'self')
    # does not govern: a <script> tag would be refused, as it should be. Once a document
    # (its 650 kB are parsed again each time): a page checked at two sizes keeps it.
    if not await page.evaluate("typeof axe !== 'undefined'"):
        await page.evaluate(_axe_source())
    result: dict[str, Any] = await page.evaluate(
        "async () => await axe.run(document, {resultTypes: ['violations']})"
    )
    return [v for v in result["violations"] if v["impact"] in ("serious", "critical")]


@functools.cache
def _axe_source() -> str:
    return AXE.read_text() + "\n;true"


async def with_engine(settings: Settings, work: Callable[[Any], Awaitable[T]]) -> T:
    """Run `work` on an engine of its own, beside the live server's."""
    engine = create_engine(settings.database_url)
    try:
        return await work(engine)
    finally:
        await engine.dispose()


async def signed_in_client(app: FastAPI) -> httpx.AsyncClient:
    """An HTTP client of `app` signed in as the owner through the sign-in form."""
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")
    page = await client.get("/login")
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found is not None
    signed = await client.post(
        "/login",
        data={"username": OWNER, "password": OWNER_PASSWORD, "csrf_token": found.group(1)},
    )
    assert signed.status_code == 303, signed.text
    return client
