"""Other channels on the message page: a voice call's recording plays in the page; a
letter's or postcard's proof shows as images, served only to who may see it."""

from __future__ import annotations

import httpx
import pytest
from playwright.async_api import Page, expect

from conftest import OWNER, OWNER_KEY, OWNER_PASSWORD, LiveServer
from dashboard_support import connected, sign_in
from fetch_support import file_server
from post_support import pdf_of, recipient

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

    await connected(page)

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


async def test_a_letters_proof_shows_as_images_on_its_page(page: Page, server: LiveServer) -> None:
    with file_server() as files:
        url = files.serve("/letter.pdf", pdf_of("A4", 2), "application/pdf")
        async with httpx.AsyncClient(base_url=server.url, auth=(OWNER, OWNER_KEY)) as api:
            sent = await api.post(
                "/v3/post/letters/send",
                json={"file_url": url, "recipients": [recipient(address_name="Ann Reader")]},
            )
    assert sent.status_code == 200, sent.text
    message_id = sent.json()["data"]["recipients"][0]["message_id"]
    await sign_in(page, server.url, OWNER, OWNER_PASSWORD)
    await page.goto(server.url + "/messages?channel=post")
    row = page.locator(f"#m-{message_id}")
    await expect(row.locator(".badge")).to_have_text("delivered", timeout=30_000)

    loaded = []
    page.on(
        "response",
        lambda response: loaded.append(response) if "/proof/" in response.url else None,
    )
    await connected(page)
    await row.get_by_role("link").click()

    proof = page.get_by_role("img", name="Letter page 1 as printed")
    await expect(proof).to_be_visible()
    await expect(page.get_by_role("img", name="Letter page 2 as printed")).to_have_count(1)
    width = await proof.evaluate(
        "img => img.decode().then(() => img.naturalWidth)"
    )  # the browser decoded a real picture
    assert width > 500
    first = await page.request.get(server.url + f"/messages/{message_id}/proof/1.png")
    assert first.status == 200 and first.headers["content-type"] == "image/png"
    assert (await first.body())[:8] == b"\x89PNG\r\n\x1a\n"
    assert any(r.status == 200 and r.headers["content-type"] == "image/png" for r in loaded)
    beyond = await page.request.get(server.url + f"/messages/{message_id}/proof/3.png")
    assert beyond.status == 404
    async with httpx.AsyncClient() as anonymous:
        refused = await anonymous.get(server.url + f"/messages/{message_id}/proof/1.png")
    assert refused.status_code == 303  # to the sign-in page


async def test_a_postcards_proof_shows_its_front_and_addressed_back(
    page: Page, server: LiveServer
) -> None:
    with file_server() as files:
        front = files.serve("/front.pdf", pdf_of((148, 105), text="Front"), "application/pdf")
        back = files.serve("/back.pdf", pdf_of((148, 105), text="Back"), "application/pdf")
        async with httpx.AsyncClient(base_url=server.url, auth=(OWNER, OWNER_KEY)) as api:
            sent = await api.post(
                "/v3/post/postcards/send",
                json={"file_urls": [front, back], "recipients": [recipient()]},
            )
    assert sent.status_code == 200, sent.text
    message_id = sent.json()["data"]["recipients"][0]["message_id"]
    await sign_in(page, server.url, OWNER, OWNER_PASSWORD)
    await page.goto(server.url + "/messages?channel=postcards")
    row = page.locator(f"#m-{message_id}")
    await expect(row.locator(".badge")).to_have_text("delivered", timeout=30_000)

    await connected(page)

    await row.get_by_role("link").click()

    for name, side in (("Postcard front as printed", 1), ("Postcard back as printed", 2)):
        image = page.get_by_role("img", name=name)
        await expect(image).to_have_attribute("src", f"/messages/{message_id}/postcard/{side}.png")
        width = await image.evaluate("img => img.decode().then(() => img.naturalWidth)")
        assert width > 300
        served = await page.request.get(server.url + f"/messages/{message_id}/postcard/{side}.png")
        assert served.status == 200 and served.headers["content-type"] == "image/png"
