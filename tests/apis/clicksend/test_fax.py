"""`/v3/fax/...`: a PDF fetched from `file_url`, checked, counted and priced per page; a
sandbox that prints what a fax machine receives; receipts, history, inbound; SDK 5."""

from __future__ import annotations

import asyncio
import base64
import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from PIL import Image, ImageSequence

from dispatch_support import deliver
from dovecote.app import create_app
from dovecote.automations.webhook_sender import WebhookSender
from dovecote.channels.fax.sandbox import tiff_key
from dovecote.files.store import open_store
from dovecote.settings import Settings
from dovecote.storage.db import create_engine
from dovecote.storage.tables import accounts, events, messages, users
from fax_support import corrupt, pdf
from fetch_support import FileServer, Served, file_server
from sms_support import as_caller, owner, subaccount
from voice_support import sdk5_body, sdk5_client, with_files
from webhook_support import receiver

US_PAGE = 80_000  # data/prices.json: fax, USD, US


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    # The file server is on loopback, which fetches refuse unless allowed.
    return with_files(settings, tmp_path, fetch_allow_private=True)


@pytest.fixture
def files() -> Iterator[FileServer]:
    with file_server() as server:
        yield server


def us(n: int) -> str:
    return f"+1202555{n:04d}"


def engine_of(app: FastAPI) -> Any:
    return app.state.runtime.engine


async def balance(app: FastAPI) -> int:
    async with engine_of(app).connect() as conn:
        query = sa.select(accounts.c.balance_micros).join(
            users, users.c.account_id == accounts.c.id
        )
        return int((await conn.execute(query.where(users.c.username == "owner"))).scalar_one())


async def row_count(app: FastAPI) -> int:
    async with engine_of(app).connect() as conn:
        query = sa.select(sa.func.count()).select_from(messages)
        return int((await conn.execute(query)).scalar_one())


async def send(client: httpx.AsyncClient, url: str, *to: str, path: str = "send") -> Any:
    return await client.post(
        f"/v3/fax/{path}", json={"file_url": url, "messages": [{"to": n} for n in to]}
    )


async def test_send_fetches_the_pdf_counts_its_pages_and_charges_per_page(
    app: FastAPI, client: httpx.AsyncClient, files: FileServer
) -> None:
    url = files.serve("/three.pdf", pdf(3), "application/pdf")
    before = await balance(app)

    response = await send(client, url, us(1), us(2))

    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert [(m["status"], m["message_pages"], m["message_price"]) for m in data["messages"]] == [
        ("SUCCESS", 3, "0.2400"),
        ("SUCCESS", 3, "0.2400"),
    ]
    assert data["total_price"] == pytest.approx(0.48)
    assert before - await balance(app) == 6 * US_PAGE
    assert files.hits == ["/three.pdf"]  # fetched once for every recipient


async def test_price_answers_what_send_charges_without_storing_or_charging(
    app: FastAPI, client: httpx.AsyncClient, files: FileServer, settings: Settings
) -> None:
    url = files.serve("/two.pdf", pdf(2), "application/pdf")
    before = await balance(app)

    response = await send(client, url, us(3), path="price")

    assert response.json()["data"]["messages"][0]["message_pages"] == 2
    assert await balance(app) == before and await row_count(app) == 0
    assert not (Path(settings.files_dir) / "fax").exists()


async def test_unusable_documents_are_a_clear_400_and_nothing_is_charged(
    app: FastAPI, client: httpx.AsyncClient, files: FileServer
) -> None:
    files.serve("/corrupt.pdf", corrupt(), "application/pdf")
    files.serve("/locked.pdf", pdf(1, password="secret"), "application/pdf")
    files.serve("/long.pdf", pdf(50), "application/pdf")
    files.serve("/image.pdf", b"\x89PNG\r\n\x1a\n not a pdf", "application/pdf")
    files.files["/moved.pdf"] = Served(b"", status=302, headers={"location": "/long.pdf"})
    before = await balance(app)
    expected = {
        "/corrupt.pdf": ("INVALID_MEDIA_FILE", "cannot be read"),
        "/locked.pdf": ("INVALID_MEDIA_FILE", "encrypted"),
        "/long.pdf": ("INVALID_MEDIA_FILE", "50 pages"),
        "/image.pdf": ("INVALID_MEDIA_FILE", "not a PDF"),
        "/moved.pdf": ("BAD_REQUEST", "redirects"),
        "/missing.pdf": ("BAD_REQUEST", "HTTP 404"),
    }

    for path, (code, reason) in expected.items():
        response = await send(client, files.url(path), us(4))
        assert response.status_code == 400, (path, response.text)
        body = response.json()
        assert body["response_code"] == code and reason in body["response_msg"], (path, body)
    no_url = await client.post("/v3/fax/send", json={"messages": [{"to": us(4)}]})
    assert no_url.status_code == 400 and "file_url" in no_url.json()["response_msg"]
    assert await balance(app) == before and await row_count(app) == 0


async def test_the_spec_test_fax_numbers_succeed_free_and_never_reach_a_transport(
    app: FastAPI, client: httpx.AsyncClient, files: FileServer, settings: Settings
) -> None:
    url = files.serve("/one.pdf", pdf(1), "application/pdf")
    before = await balance(app)

    response = await send(client, url, "+61261111111", "+61262222222", "+61263333333")

    assert [m["status"] for m in response.json()["data"]["messages"]] == ["SUCCESS"] * 3
    assert response.json()["data"]["total_price"] == 0 and await balance(app) == before
    assert await deliver(engine_of(app), settings) == 0


async def test_the_sandbox_keeps_the_fax_tiff_and_a_png_per_page(
    app: FastAPI, client: httpx.AsyncClient, files: FileServer, settings: Settings
) -> None:
    url = files.serve("/two.pdf", pdf(2), "application/pdf")
    message_id = (await send(client, url, us(5))).json()["data"]["messages"][0]["message_id"]
    assert (await client.get(f"/sandbox/fax/{message_id}/page/1.png")).status_code == 404

    assert await deliver(engine_of(app), settings) == 1  # sent: the pages are printed
    assert await deliver(engine_of(app), settings) == 1  # settled: the receipt

    tiff = await open_store(settings).get(tiff_key(message_id))
    with Image.open(io.BytesIO(tiff)) as image:
        frames = list(ImageSequence.Iterator(image))
        assert len(frames) == 2
        assert {(f.mode, f.info["compression"]) for f in frames} == {("1", "group4")}
        assert tuple(round(v) for v in frames[0].info["dpi"]) == (204, 196)
    page = await client.get(f"/sandbox/fax/{message_id.lower()}/page/2.png")
    assert page.status_code == 200 and page.headers["content-type"] == "image/png"
    with Image.open(io.BytesIO(page.content)) as preview:
        assert preview.mode == "1"
    assert (await client.get(f"/sandbox/fax/{message_id}/page/3.png")).status_code == 404

    receipts = (await client.get("/v3/fax/receipts")).json()["data"]["data"]
    assert [(r["message_id"], r["status_code"], r["message_pages"]) for r in receipts] == [
        (message_id, "201", 2)
    ]
    one = await client.get(f"/v3/fax/receipts/{message_id}")
    assert one.json()["data"]["status_text"] == "Delivered"
    # A JSON `null` body is refused (it must not read as "mark everything read").
    refused = await client.put(
        "/v3/fax/receipts-read", content=b"null", headers={"content-type": "application/json"}
    )
    assert refused.status_code == 400
    assert (await client.get("/v3/fax/receipts")).json()["data"]["total"] == 1
    assert (await client.put("/v3/fax/receipts-read")).status_code == 200
    assert (await client.get("/v3/fax/receipts")).json()["data"]["total"] == 0
    history = (await client.get("/v3/fax/history")).json()["data"]["data"]
    assert [(h["message_id"], h["status"], h["message_pages"]) for h in history] == [
        (message_id, "Delivered", 2)
    ]


async def test_an_inbound_fax_lands_in_history_with_its_pages(
    client: httpx.AsyncClient, anon: httpx.AsyncClient
) -> None:
    content = base64.b64encode(pdf(2)).decode()

    response = await client.post(
        "/sandbox/fax/inbound",
        json={"from": "+61299999999", "to": "+61290000000", "content": content},
    )

    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert (data["direction"], data["from"], data["message_pages"]) == ("in", "+61299999999", 2)
    history = (await client.get("/v3/fax/history")).json()["data"]["data"]
    assert [(h["message_id"], h["direction"], h["status"]) for h in history] == [
        (data["message_id"], "in", "Received")
    ]
    page = await client.get(f"/sandbox/fax/{data['message_id']}/page/2.png")
    assert page.status_code == 200
    assert (await anon.get(f"/sandbox/fax/{data['message_id']}/page/2.png")).status_code == 401
    bad = await client.post(
        "/sandbox/fax/inbound",
        json={"from": "+61299999999", "to": "x", "content": base64.b64encode(corrupt()).decode()},
    )
    assert bad.status_code == 400 and bad.json()["response_code"] == "INVALID_MEDIA_FILE"


async def test_a_subaccount_without_access_fax_is_refused(
    app: FastAPI, client: httpx.AsyncClient, files: FileServer, settings: Settings
) -> None:
    url = files.serve("/one.pdf", pdf(1), "application/pdf")
    me = await owner(client, settings)
    clerk = await subaccount(client, me, "clerk", reporting=True)
    changed = await client.put(f"/v3/subaccounts/{clerk.user_id}", json={"access_fax": 0})
    assert changed.status_code == 200, changed.text

    async with as_caller(app, clerk) as theirs:
        refused = await send(theirs, url, us(6))
        assert refused.status_code == 403
        assert (await theirs.get("/v3/fax/history")).status_code == 403
    assert files.hits == []  # refused before anything was fetched


async def test_history_exports_as_csv_through_a_signed_link(
    client: httpx.AsyncClient, anon: httpx.AsyncClient, files: FileServer
) -> None:
    url = files.serve("/one.pdf", pdf(1), "application/pdf")
    await send(client, url, us(7))
    link = (await client.get("/v3/fax/history/export")).json()["data"]["url"]

    rows = list(csv.DictReader(io.StringIO((await anon.get(link)).text)))
    assert [(r["to"], r["message_pages"], r["message_price"]) for r in rows] == [
        (us(7), "1", "0.0800")
    ]
    assert (await anon.get(link.replace("/fax/", "/voice/"))).status_code == 403


# --- SDK 5.0.91, the only official SDK with fax -----------------------------------------


def test_sdk5_round_trips_every_fax_operation(live_server: Any, settings: Settings) -> None:
    sdk5, client = sdk5_client(live_server.url, settings)
    api = sdk5.FAXApi(client)
    with file_server() as server:
        url = server.serve("/doc.pdf", pdf(2), "application/pdf")
        collection = sdk5.FaxMessageCollection(
            file_url=url, messages=[sdk5.FaxMessage(to=us(8), _from=us(9), custom_string="sdk5")]
        )

        price = sdk5_body(api.fax_price_post(collection))
        assert price["data"]["messages"][0]["message_pages"] == 2
        sent = sdk5_body(api.fax_send_post(collection))
    message_id = sent["data"]["messages"][0]["message_id"]
    assert sent["data"]["total_price"] == pytest.approx(0.16)

    async def run() -> None:
        engine = create_engine(settings.database_url)
        try:
            await deliver(engine, settings)
            await deliver(engine, settings)
        finally:
            await engine.dispose()

    asyncio.run(run())

    history = sdk5_body(api.fax_history_get())
    assert history["data"]["data"][0]["message_id"] == message_id
    receipts = sdk5_body(api.fax_receipts_get())
    assert receipts["data"]["data"][0]["custom_string"] == "sdk5"
    one = sdk5_body(api.fax_receipts_by_message_id_get(message_id))
    assert one["data"]["status_code"] == "201"
    test_receipt = sdk5_body(api.fax_receipts_post(sdk5.Url(url="poll")))
    assert test_receipt["data"]["message_type"] == "fax"
    assert sdk5_body(api.fax_receipts_read_put())["http_code"] == 200
    assert sdk5_body(api.fax_receipts_get())["data"]["total"] == 0


async def test_an_uploaded_pdf_is_taken_back_without_a_fetch(settings: Settings) -> None:
    # Private fetches refused: the upload link (on 127.0.0.1 via the base URL) would
    # fail if it were fetched; Dovecote reads it from its own file store instead.
    application = create_app(settings.model_copy(update={"fetch_allow_private": False}))
    async with (
        application.router.lifespan_context(application),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=application),
            base_url="http://127.0.0.1:9",
            auth=(str(settings.owner_username), str(settings.owner_api_key)),
        ) as http,
    ):
        uploaded = await http.post(
            "/v3/uploads",
            params={"convert": "fax"},
            json={"content": base64.b64encode(pdf(2)).decode()},
        )
        assert uploaded.status_code == 200, uploaded.text
        url = uploaded.json()["data"]["_url"]
        assert url.startswith("http://127.0.0.1:9/files/uploads/")
        response = await send(http, url, us(20))
        private = await send(http, "http://127.0.0.1:9/elsewhere.pdf", us(21))
    assert response.status_code == 200, response.text
    [message] = response.json()["data"]["messages"]
    assert (message["status"], message["message_pages"]) == ("SUCCESS", 2)
    assert private.status_code == 400  # any other loopback URL is still fetched, and refused


async def test_send_and_inbound_write_the_events_statistics_and_automations_read(
    app: FastAPI, client: httpx.AsyncClient, files: FileServer, settings: Settings
) -> None:
    url = files.serve("/one.pdf", pdf(1), "application/pdf")
    sent = (await send(client, url, us(30))).json()["data"]["messages"][0]["message_id"]
    with receiver() as peer:
        rule = await client.post(
            "/v3/automations/fax/inbound",
            json={
                "rule_name": "Faxes in",
                "dedicated_number": "+61290000000",
                "action": "URL",
                "action_address": peer.url,
                "enabled": 1,
            },
        )
        assert rule.status_code == 200, rule.text
        inbound = await client.post(
            "/sandbox/fax/inbound",
            json={
                "from": "+61299999999",
                "to": "+61290000000",
                "content": base64.b64encode(pdf(3)).decode(),
            },
        )
        assert inbound.status_code == 200, inbound.text
        sender = WebhookSender(engine_of(app), settings)
        try:
            assert await sender.drain() == 1
        finally:
            await sender.close()

    received = inbound.json()["data"]["message_id"]
    async with engine_of(app).connect() as conn:
        rows = (
            await conn.execute(
                sa.select(events.c.message_id, events.c.type, events.c.data)
                .where(events.c.channel == "fax")
                .order_by(events.c.id)
            )
        ).all()
    assert [(row.message_id, row.type) for row in rows] == [
        (sent, "queued"),
        (received, "inbound"),
    ]
    assert rows[0].data["price_micros"] == US_PAGE
    assert (rows[1].data["to"], rows[1].data["from"], rows[1].data["message_pages"]) == (
        "+61290000000",
        "+61299999999",
        3,
    )
    [request] = peer.requests
    assert parse_qs(request.body.decode())["to"] == ["+61290000000"]
