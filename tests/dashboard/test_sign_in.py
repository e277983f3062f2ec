"""Signing in and out of the dashboard in a real browser, and what a session is."""

from __future__ import annotations

import pytest
from playwright.async_api import Page, expect

from conftest import OWNER, OWNER_KEY, OWNER_PASSWORD, LiveServer
from dashboard_support import sign_in

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_it_signs_in_with_a_password_and_out_again(page: Page, server: LiveServer) -> None:
    await page.goto(server.url + "/messages")
    await expect(page).to_have_url(server.url + "/login?next=%2Fmessages")

    await sign_in(page, None, OWNER, OWNER_PASSWORD)

    await expect(page).to_have_url(server.url + "/messages")
    await expect(page.get_by_role("heading", name="Messages")).to_be_visible()
    cookie = next(c for c in await page.context.cookies() if c["name"] == "dovecote_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    assert not cookie["secure"]  # plain HTTP on loopback; Secure whenever served over TLS

    await page.get_by_role("button", name="Sign out").click()
    await expect(page).to_have_url(server.url + "/login")
    await page.goto(server.url + "/messages")
    await expect(page).to_have_url(server.url + "/login?next=%2Fmessages")


async def test_a_wrong_password_or_an_api_key_does_not_sign_in(
    page: Page, server: LiveServer
) -> None:
    await sign_in(page, server.url, OWNER, "not-the-password")
    await expect(page.get_by_role("alert")).to_have_text("Wrong username or password.")

    await sign_in(page, server.url, OWNER, OWNER_KEY)  # keys are for programs
    await expect(page.get_by_role("alert")).to_have_text("Wrong username or password.")


async def test_a_post_without_the_csrf_token_is_refused(page: Page, server: LiveServer) -> None:
    await sign_in(page, server.url, OWNER, OWNER_PASSWORD)

    # The browser sends the session cookie; a forged form cannot know the token.
    forged = await page.request.post(server.url + "/logout", form={"csrf_token": "guess"})
    missing = await page.request.post(server.url + "/phone/+61411111111/reply", form={"body": "hi"})
    login = await page.request.post(
        server.url + "/login", form={"username": OWNER, "password": OWNER_PASSWORD}
    )

    assert (forged.status, missing.status, login.status) == (403, 403, 403)
    await page.goto(server.url + "/messages")  # still signed in: the forged logout did nothing
    await expect(page.get_by_role("heading", name="Messages")).to_be_visible()


async def test_a_form_holding_a_nul_character_is_refused_not_stored(
    page: Page, server: LiveServer
) -> None:
    await sign_in(page, server.url, OWNER, OWNER_PASSWORD)
    token = await page.locator("form.logout input[name=csrf_token]").get_attribute("value")
    assert token

    answer = await page.request.post(
        server.url + "/phone/+12025550100/reply", form={"csrf_token": token, "body": "a\x00b"}
    )
    fine = await page.request.post(
        server.url + "/phone/+12025550100/reply", form={"csrf_token": token, "body": "ab"}
    )

    assert (answer.status, fine.status) == (403, 200)  # the fine one lands on its thread
    await page.goto(server.url + "/phone/+12025550100")
    await expect(page.locator("#bubbles .mine")).to_have_count(1)
