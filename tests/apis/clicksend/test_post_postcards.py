"""`/v3/post/postcards/*`: front and back PDFs at postcard aspect, priced per card; wrong
sizes or too many sides refused with nothing charged; history at both export paths; the
sandbox's proof is the front and the back with the address."""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from PIL import Image

from dispatch_support import deliver
from dovecote.settings import Settings
from dovecote.storage.tables import messages, post_items
from fetch_support import FileServer, file_server
from media_support import load_sdk5, sdk5_client, sdk5_result
from post_support import pdf_of, recipient

A6 = (148, 105)


@pytest.fixture
def files() -> Iterator[FileServer]:
    with file_server() as server:
        yield server


def local(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


async def balance(client: httpx.AsyncClient) -> float:
    return float((await client.get("/v3/account")).json()["data"]["balance"])


async def rows(app: FastAPI, table: sa.Table = messages) -> list[dict[str, Any]]:
    async with app.state.runtime.engine.connect() as conn:
        return [dict(r) for r in (await conn.execute(sa.select(table))).mappings()]


async def test_a_postcard_is_charged_per_card_and_listed(
    app: FastAPI, client: httpx.AsyncClient, anon: httpx.AsyncClient, files: FileServer
) -> None:
    front = files.serve("/front.pdf", pdf_of(A6, text="Front"), "application/pdf")
    back = files.serve("/back.pdf", pdf_of(A6, text="Back"), "application/pdf")
    body = {"file_urls": [front, back], "recipients": [recipient(), recipient("22222")]}
    before = await balance(client)
    price = (await client.post("/v3/post/postcards/price", json=body)).json()["data"]
    assert await balance(client) == before

    response = await client.post("/v3/post/postcards/send", json=body)

    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert response.json()["response_msg"] == "Postcard queued for delivery."
    paid, free = data["recipients"]
    assert paid["status"] == free["status"] == "SUCCESS"
    assert float(paid["post_price"]) > 0 and free["post_price"] == "0.0000"
    assert data["total_price"] == price["total_price"] == float(paid["post_price"])
    assert round(before - await balance(client), 4) == data["total_price"]
    channels = sorted(row["channel"] for row in await rows(app))
    assert channels == ["postcards", "postcards"]  # the usage report's name
    item = next(i for i in await rows(app, post_items) if i["message_id"] == paid["message_id"])
    assert (item["kind"], item["pages"]) == ("postcard", 2) and item["back_key"] is not None

    now = time.gmtime()
    usage = await client.get(f"/v3/account/usage/{now.tm_year}/{now.tm_mon}/subaccount")
    totals = usage.json()["data"]["postcards_total"]
    assert totals["price"] == data["total_price"] and totals["count"] == 2

    page = (await client.get("/v3/post/postcards/history")).json()["data"]
    assert page["total"] == 2
    assert (await anon.get(local(page["data"][0]["_back_file_url"]))).status_code == 200
    assert (await client.get("/v3/post/letters/history")).json()["data"]["total"] == 0
    for path in ("/v3/post/postcards/export", "/v3/post/postcards/history/export"):
        link = (await client.get(path, params={"filename": "cards"})).json()["data"]["url"]
        download = await anon.get(local(link))
        assert download.headers["content-disposition"].endswith('filename="cards.csv"')
        assert len(list(csv.DictReader(io.StringIO(download.text)))) == 2


async def test_the_sandbox_proofs_a_postcard_as_its_front_and_its_addressed_back(
    app: FastAPI, client: httpx.AsyncClient, files: FileServer, settings: Settings
) -> None:
    front = files.serve("/front.pdf", pdf_of(A6, text="Front"), "application/pdf")
    body = {"file_urls": [front], "recipients": [recipient(address_name="Ann Reader")]}
    sent = await client.post("/v3/post/postcards/send", json=body)
    assert sent.status_code == 200, sent.text
    message_id = sent.json()["data"]["recipients"][0]["message_id"]
    engine = app.state.runtime.engine
    while await deliver(engine, settings):
        pass

    base = f"/sandbox/postcards/{message_id}/proof"
    sides = [await client.get(f"{base}/{n}.png") for n in (1, 2)]
    assert [r.headers["content-type"] for r in sides] == ["image/png", "image/png"]
    front_image, back_image = (Image.open(io.BytesIO(r.content)).convert("L") for r in sides)
    assert front_image.size == back_image.size and front_image.width > front_image.height
    width, height = back_image.size
    left = back_image.crop((0, 0, width * 45 // 100, height))
    address = back_image.crop((width * 55 // 100, height * 40 // 100, width, height))
    assert left.getextrema() == (255, 255)  # no back was given: blank but for the address
    assert min(address.getdata()) < 128  # the address is written on the right half
    assert min(front_image.getdata()) < 128  # the front's text
    assert (await client.get(f"{base}/3.png")).status_code == 400  # a card has two sides
    assert (await client.get(f"/sandbox/post/{message_id}/proof/1.png")).status_code == 404


@pytest.mark.parametrize(
    ("sides", "reason"),
    [
        ([pdf_of("Letter")], "postcard side"),  # A4 has A6's aspect: it would pass
        ([pdf_of(A6, 2), pdf_of(A6)], "two sides"),
        ([pdf_of(A6)] * 3, "one or two"),
        ([], "one or two"),
    ],
    ids=["letter-size", "three-pages", "three-urls", "none"],
)
async def test_bad_sides_are_a_400_and_charge_nothing(
    app: FastAPI, client: httpx.AsyncClient, files: FileServer, sides: list[bytes], reason: str
) -> None:
    urls = [files.serve(f"/{i}.pdf", data, "application/pdf") for i, data in enumerate(sides)]
    before = await balance(client)
    response = await client.post(
        "/v3/post/postcards/send", json={"file_urls": urls, "recipients": [recipient()]}
    )
    assert response.status_code == 400, response.text
    assert response.json()["response_code"] == "INVALID_MEDIA_FILE"
    assert reason in response.json()["response_msg"]
    assert await balance(client) == before and await rows(app) == []


def test_sdk5_sends_prices_lists_and_exports_postcards(
    live_server: Any, settings: Settings
) -> None:
    sdk5 = load_sdk5()
    api = sdk5.PostPostcardApi(sdk5_client(sdk5, live_server.url, settings))
    with file_server() as served:
        card = sdk5.PostPostcard(
            file_urls=[served.serve("/c.pdf", pdf_of((152.4, 101.6), 2), "application/pdf")],
            recipients=[
                sdk5.PostRecipient(
                    address_name="Jane",
                    address_line_1="1 Example Street",
                    address_city="Austin",
                    address_state="TX",
                    address_postal_code="78701",
                    address_country="US",
                    return_address_id=0,
                )
            ],
        )
        price = sdk5_result(api.post_postcards_price_post(card))
        sent = sdk5_result(api.post_postcards_send_post(card))
    assert price["data"]["total_price"] == sent["data"]["total_price"] > 0
    history = sdk5_result(api.post_postcards_history_get())
    assert history["data"]["data"][0]["address_city"] == "Austin"
    exported = sdk5_result(api.post_postcards_history_export_get("cards.csv"))
    assert "filename=cards.csv" in exported["data"]["url"]
