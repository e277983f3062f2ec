"""Other channels on the message page: a voice call's recording plays in the page."""

from __future__ import annotations

import httpx
import pytest
from playwright.async_api import Page, expect

from conftest import OWNER, OWNER_KEY, OWNER_PASSWORD, LiveServer
from dashboard_support import sign_in

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_a_voice_calls_recording_is_an_audio_player_on_its_page(
    page: Page, server: LiveServer
) -> None:
    async with httpx.AsyncClient(base_url=server.url, auth=(OWNER, OWNER_KEY)) as api:
        sent = await api.post(
            "/v3/voice/send",
            json={"messages": [{"to": "+12025550161", "body": "Your table is ready.",
                                "voice": "female", "lang": "en-us"}]},
        )  # fmt: skip
    assert sent.status_code == 200, sent.text
    message_id = sent.json()["data"]["messages"][0]["message_id"]
    await sign_in(page, server.url, OWNER, OWNER_PASSWORD)
    await page.goto(server.url + "/messages")
    row = page.locator(f"#m-{message_id}")
    await expect(row.locator(".badge")).to_have_text("delivered", timeout=30_000)

    await row.get_by_role("link").click()

    audio = page.locator("audio")
    await expect(audio).to_have_attribute("src", f"/messages/{message_id}/voice.wav")
    wav = await page.request.get(server.url + f"/messages/{message_id}/voice.wav")
    assert wav.status == 200 and wav.headers["content-type"] == "audio/wav"
    assert (await wav.body())[:4] == b"RIFF"
    duration = await audio.evaluate(
        "a => new Promise(done => { a.onloadedmetadata = () => done(a.duration); a.load(); })"
    )
    assert duration > 0.5  # the browser decoded real speech
