"""Failed sign-ins in the dashboard and failed logins at the API share one limit."""

from __future__ import annotations

import httpx
import pytest
from playwright.async_api import Page, expect

from conftest import OWNER, OWNER_PASSWORD, LiveServer
from dashboard_support import sign_in
from dovecote.settings import Settings

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # Per day, not per minute: the sliding-window counter weighs the previous window, so
    # failures straddling a minute boundary would count 2.99 and let a fourth try in.
    return settings.model_copy(update={"auth_failure_limit": "3/day"})


async def test_failed_sign_ins_count_with_the_apis_failed_logins(
    page: Page, server: LiveServer
) -> None:
    # Three failures per address and name (below): the API's failures and the
    # form's add up, and then even the right password is refused, at either door.
    async with httpx.AsyncClient(base_url=server.url) as api:
        for _ in range(2):
            assert (await api.get("/v3/account", auth=(OWNER, "wrong"))).status_code == 401
    await sign_in(page, server.url, OWNER, "wrong")
    await expect(page.get_by_role("alert")).to_have_text("Wrong username or password.")

    await sign_in(page, server.url, OWNER, OWNER_PASSWORD)

    await expect(page.get_by_role("alert")).to_have_text(
        "Too many failed sign-ins; try again later."
    )
    async with httpx.AsyncClient(base_url=server.url) as api:
        refused = await api.get("/v3/account", auth=(OWNER, OWNER_PASSWORD))
    assert refused.status_code == 429
