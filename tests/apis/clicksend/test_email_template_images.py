"""`POST /v3/email/templates-images/{template_id}`: images stored in the file store for
a template, from base64 or a URL (a real loopback server), served by their link."""

from __future__ import annotations

import base64
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi import FastAPI

from fetch_support import file_server
from media_support import image
from reseller_support import login, new_account


async def _template(client: httpx.AsyncClient) -> int:
    created = await client.post(
        "/v3/email/templates", json={"template_name": "News", "body": "<p>Hi</p>"}
    )
    assert created.status_code == 200, created.text
    return int(created.json()["data"]["template_id"])


async def _download(anon: httpx.AsyncClient, url: str) -> httpx.Response:
    parts = urlsplit(url)
    return await anon.get(f"{parts.path}?{parts.query}")


async def test_an_uploaded_image_is_stored_and_served_by_its_link(
    client: httpx.AsyncClient, anon: httpx.AsyncClient
) -> None:
    template_id = await _template(client)
    png = image("PNG")
    uploaded = await client.post(
        f"/v3/email/templates-images/{template_id}",
        json={"image": base64.b64encode(png).decode()},
    )
    assert uploaded.status_code == 200, uploaded.text
    url = uploaded.json()["data"]
    assert isinstance(url, str) and url.startswith("http://testserver/files/email-templates/")
    assert url.split("?")[0].endswith(".png")
    served = await _download(anon, url)  # no credentials: a mail client fetches it
    assert served.status_code == 200
    assert served.content == png
    assert served.headers["content-type"] == "image/png"
    tampered = await anon.get(urlsplit(url).path + "?expires=9999999999&signature=x")
    assert tampered.status_code == 404


async def test_an_image_is_fetched_from_a_url(
    client: httpx.AsyncClient, anon: httpx.AsyncClient
) -> None:
    template_id = await _template(client)
    gif = image("GIF")
    with file_server() as server:
        uploaded = await client.post(
            f"/v3/email/templates-images/{template_id}",
            json={"url": server.serve("/logo.gif", gif, "image/gif")},
        )
        missing = await client.post(
            f"/v3/email/templates-images/{template_id}", json={"url": server.url("/none.gif")}
        )
    assert uploaded.status_code == 200, uploaded.text
    assert (await _download(anon, uploaded.json()["data"])).content == gif
    assert missing.status_code == 400 and "404" in missing.json()["response_msg"]


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"image": "image.png"},  # the spec's example: a file name is not the file
        {"image": base64.b64encode(b"<script>alert(1)</script>").decode()},
        {"image": base64.b64encode(b"%PDF-1.4 not an image").decode()},
        {"image": base64.b64encode(b"\x89PNG\r\n\x1a\n broken").decode()},
        {"image": "aGk=", "url": "http://example.com/x.png"},
    ],
)
async def test_what_is_not_an_image_is_a_clear_400(
    client: httpx.AsyncClient, body: dict[str, str]
) -> None:
    template_id = await _template(client)
    refused = await client.post(f"/v3/email/templates-images/{template_id}", json=body)
    assert refused.status_code == 400, refused.text
    assert refused.json()["response_code"] == "BAD_REQUEST"


async def test_only_the_templates_account_can_add_images_to_it(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    template_id = await _template(client)
    other = await new_account(app.state.runtime.engine, "other")
    png = base64.b64encode(image("PNG")).decode()
    async with login(app, other) as as_other:
        refused = await as_other.post(
            f"/v3/email/templates-images/{template_id}", json={"image": png}
        )
    unknown = await client.post("/v3/email/templates-images/999999", json={"image": png})
    assert refused.status_code == 404
    assert unknown.status_code == 404
