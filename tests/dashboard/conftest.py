"""Fixtures of the browser tests: one Chromium per session, a live Dovecote per test.

Playwright's async API on the session's event loop: its sync API would leave a running
loop on the main thread for the whole session, and every other test's `asyncio.run`
(the database fixtures) would then fail. Tests here run on the same session loop
(`pytestmark` in each module).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio
from playwright.async_api import Browser, Page, async_playwright

from conftest import LiveServer
from dashboard_support import CHROMIUM, CHROMIUM_ARGS, WIDE
from dovecote.settings import Settings


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def browser() -> AsyncIterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs it (apt-get install chromium)")
    async with async_playwright() as running:
        launched = await running.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        await launched.close()


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # A worker, so sent messages move on (sent, delivered) while the page watches.
    return settings.model_copy(
        update={
            "worker_enabled": True,
            "worker_poll_interval": 0.05,
            "activity_rate_limit": "10000/second",
        }
    )


@pytest.fixture
def server(settings: Settings) -> Iterator[LiveServer]:
    live = LiveServer(settings)
    # Live pages hold event streams open; a stopping server must not wait on them.
    live.server.config.timeout_graceful_shutdown = 2
    with live:
        yield live


@pytest_asyncio.fixture(loop_scope="session")
async def page(browser: Browser, server: LiveServer) -> AsyncIterator[Page]:
    context = await browser.new_context(viewport=WIDE)  # type: ignore[arg-type]
    opened = await context.new_page()
    opened.set_default_timeout(10_000)
    yield opened
    await context.close()
