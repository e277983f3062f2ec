"""`/v3/post/letters/*` and `/v3/post/return-addresses`: real PDFs made here, fetched
from a loopback server; refusals charge nothing; test postal codes are free and never
sent; the sandbox's proof shows the address in the window; SDK 5.0.91 and 6.0.2."""

from __future__ import annotations

import base64
import csv
import io
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import clicksend
import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from PIL import Image

from dispatch_support import deliver
from dovecote.channels.post import proof
from dovecote.pipeline import status as st
from dovecote.settings import Settings
from dovecote.storage.tables import messages, post_items
from fetch_support import FileServer, file_server
from media_support import encrypted_pdf, load_sdk5, sdk5_client, sdk5_result, sdk6_client
from post_support import addressed_letter, pdf_of, recipient
from sms_support import as_caller, other_account


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


def letter(url: str, *recipients: dict[str, Any], **options: Any) -> dict[str, Any]:
    return {"file_url": url, "recipients": list(recipients) or [recipient()], **options}


async def test_a_letter_is_charged_per_sheet_queued_proofed_and_delivered(
    app: FastAPI, client: httpx.AsyncClient, files: FileServer, settings: Settings
) -> None:
    url = files.serve("/letter.pdf", pdf_of("A4", 3), "application/pdf")
    before = await balance(client)
    simplex = (await client.post("/v3/post/letters/price", json=letter(url))).json()["data"]
    colour = (await client.post("/v3/post/letters/price", json=letter(url, colour=1))).json()
    duplex = (await client.post("/v3/post/letters/price", json=letter(url, duplex=1))).json()
    assert colour["data"]["total_price"] > simplex["total_price"] > duplex["data"]["total_price"]
    assert simplex["recipients"][0]["post_pages"] == 3
    assert duplex["data"]["recipients"][0]["_post_sheets"] == 2
    assert await balance(client) == before  # pricing charges nothing

    response = await client.post(
        "/v3/post/letters/send", json=letter(url, recipient(custom_string="c-1"))
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["response_msg"] == "Letters queued for delivery."
    [sent] = body["data"]["recipients"]
    assert sent["status"] == "SUCCESS" and sent["custom_string"] == "c-1"
    assert body["data"]["total_price"] == simplex["total_price"] == float(sent["post_price"])
    assert round(before - await balance(client), 4) == simplex["total_price"]
    [row] = await rows(app)
    assert (row["channel"], row["status"], row["country"]) == ("post", st.QUEUED, "AU")
    [item] = await rows(app, post_items)
    assert (item["message_id"], item["pages"], item["address_postal_code"]) == (
        sent["message_id"],
        3,
        "6000",
    )

    # The proof is "printed" when the letter is dispatched, not in the request.
    engine = app.state.runtime.engine
    proof_url = f"/sandbox/post/{sent['message_id']}/proof/1.png"
    assert (await client.get(proof_url)).status_code == 404
    await deliver(engine, settings)
    [row] = await rows(app)
    assert row["status"] == st.SENT
    # The proof: page 1 shows the address in the window; page 3 exists, page 4 not.
    first = await client.get(proof_url)
    assert first.status_code == 200 and first.headers["content-type"] == "image/png"
    picture = Image.open(io.BytesIO(first.content)).convert("L")
    window = picture.crop(proof.window_box())
    darkest = min(window.getdata())
    assert darkest < 128  # dark text drawn in the window
    blank = picture.crop((0, 0, 50, 50))
    assert blank.getextrema() == (255, 255)
    assert (await client.get(f"/sandbox/post/{sent['message_id']}/proof/3.png")).status_code == 200
    assert (await client.get(f"/sandbox/post/{sent['message_id']}/proof/4.png")).status_code == 404

    await deliver(engine, settings)
    [row] = await rows(app)
    assert row["status"] == st.DELIVERED


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (pdf_of((148, 210)), "A4"),
        (encrypted_pdf(), "encrypted"),
        (b"%PDF-1.7\n%%garbage, no objects", "damaged"),
        (pdf_of("A4", 21), "21 sheets"),
    ],
    ids=["wrong-size", "encrypted", "corrupt", "too-many-pages"],
)
async def test_a_bad_document_is_a_400_and_charges_nothing(
    app: FastAPI, client: httpx.AsyncClient, files: FileServer, data: bytes, reason: str
) -> None:
    url = files.serve("/bad.pdf", data, "application/pdf")
    before = await balance(client)
    response = await client.post("/v3/post/letters/send", json=letter(url))
    assert response.status_code == 400, response.text
    assert response.json()["response_code"] == "INVALID_MEDIA_FILE"
    assert reason in response.json()["response_msg"]
    assert await balance(client) == before
    assert await rows(app) == [] and await rows(app, post_items) == []


async def test_twenty_one_pages_fit_in_duplex(client: httpx.AsyncClient, files: FileServer) -> None:
    url = files.serve("/long.pdf", pdf_of("Letter", 21), "application/pdf")
    response = await client.post("/v3/post/letters/price", json=letter(url, duplex=1))
    assert response.status_code == 200, response.text
    assert response.json()["data"]["recipients"][0]["_post_sheets"] == 11


async def test_an_incomplete_address_is_refused(
    client: httpx.AsyncClient, files: FileServer
) -> None:
    url = files.serve("/a.pdf", pdf_of("A4"), "application/pdf")
    response = await client.post(
        "/v3/post/letters/send", json=letter(url, recipient(address_city=""))
    )
    assert response.status_code == 400
    assert response.json()["response_code"] == "MISSING_REQUIRED_FIELDS"
    bad_country = await client.post(
        "/v3/post/letters/send", json=letter(url, recipient(address_country="XX"))
    )
    assert bad_country.status_code == 400


@pytest.mark.parametrize("code", ["11111", "22222", "33333"])
async def test_test_postal_codes_succeed_free_and_are_never_sent(
    app: FastAPI, client: httpx.AsyncClient, files: FileServer, settings: Settings, code: str
) -> None:
    url = files.serve("/a.pdf", pdf_of("A4"), "application/pdf")
    before = await balance(client)
    response = await client.post("/v3/post/letters/send", json=letter(url, recipient(code)))
    [sent] = response.json()["data"]["recipients"]
    assert sent["status"] == "SUCCESS" and sent["post_price"] == "0.0000"
    assert await balance(client) == before
    assert await deliver(app.state.runtime.engine, settings) == 0
    [row] = await rows(app)
    assert row["status"] == st.TEST


async def test_return_addresses_round_trip_and_letters_name_them(
    app: FastAPI, client: httpx.AsyncClient, files: FileServer
) -> None:
    address = {k: v for k, v in recipient().items()} | {"address_postal_code": 6302}
    created = await client.post("/v3/post/return-addresses", json=address)
    assert created.status_code == 200, created.text
    data = created.json()["data"]
    assert data["address_postal_code"] == "6302"
    address_id = data["return_address_id"]
    changed = await client.put(
        f"/v3/post/return-addresses/{address_id}", json=address | {"address_city": "Flynn"}
    )
    assert changed.json()["data"]["address_city"] == "Flynn"
    listed = (await client.get("/v3/post/return-addresses")).json()["data"]
    assert [a["return_address_id"] for a in listed["data"]] == [address_id]

    url = files.serve("/a.pdf", pdf_of("A4"), "application/pdf")
    sent = await client.post(
        "/v3/post/letters/send", json=letter(url, recipient(return_address_id=address_id))
    )
    [one] = sent.json()["data"]["recipients"]
    assert one["_return_address"]["address_city"] == "Flynn"
    unknown = await client.post(
        "/v3/post/letters/send", json=letter(url, recipient(return_address_id=address_id + 1))
    )
    assert unknown.status_code == 400

    await deliver(app.state.runtime.engine, app.state.runtime.settings)  # proofs printed
    proof_url = f"/sandbox/post/{one['message_id']}/proof/1.png"
    assert (await client.get(proof_url)).status_code == 200
    stranger = await other_account(app.state.runtime.engine)
    async with as_caller(app, stranger) as theirs:
        assert (await theirs.get(f"/v3/post/return-addresses/{address_id}")).status_code == 404
        assert (await theirs.get(proof_url)).status_code == 404

    deleted = await client.delete(f"/v3/post/return-addresses/{address_id}")
    assert deleted.json()["response_msg"] == "Your return address has been deleted."
    assert (await client.get(f"/v3/post/return-addresses/{address_id}")).status_code == 404
    missing = await client.post("/v3/post/return-addresses", json={"address_name": "x"})
    assert missing.json()["response_code"] == "MISSING_REQUIRED_FIELDS"


async def test_history_lists_letters_and_exports_csv(
    client: httpx.AsyncClient, anon: httpx.AsyncClient, files: FileServer
) -> None:
    pdf = pdf_of("A4", 2)
    url = files.serve("/a.pdf", pdf, "application/pdf")
    await client.post("/v3/post/letters/send", json=letter(url, recipient(), recipient("11111")))
    page = (await client.get("/v3/post/letters/history")).json()["data"]
    assert page["total"] == 2
    first = page["data"][0]
    assert first["address_name"] == "Jane Citizen" and first["post_pages"] == 2
    document = await anon.get(local(first["_file_url"]))
    assert document.content == pdf
    searched = await client.get(
        "/v3/post/letters/history", params={"q": "address_postal_code:11111"}
    )
    assert searched.json()["data"]["total"] == 1

    exported = await client.get("/v3/post/letters/history/export", params={"filename": "l.csv"})
    link = exported.json()["data"]["url"]
    download = await anon.get(local(link))
    assert download.status_code == 200
    table = list(csv.DictReader(io.StringIO(download.text)))
    assert sorted(r["address_postal_code"] for r in table) == ["11111", "6000"]
    # A letter link is no postcard link.
    forged = local(link).replace("/letters/history/export", "/postcards/history/export")
    assert (await anon.get(forged)).status_code in (403, 404)


# --- the official SDKs ----------------------------------------------------------------


def test_sdk5_sends_prices_lists_and_exports_letters(live_server: Any, settings: Settings) -> None:
    sdk5 = load_sdk5()
    client = sdk5_client(sdk5, live_server.url, settings)
    addresses = sdk5.PostReturnAddressApi(client)
    created = sdk5_result(
        addresses.post_return_addresses_post(
            sdk5.Address(
                address_name="Dovecote",
                address_line_1="2 Sender Road",
                address_city="Flynn",
                address_postal_code="6302",
                address_country="AU",
                address_state="WA",
            )
        )
    )
    address_id = created["data"]["return_address_id"]
    api = sdk5.PostLetterApi(client)
    with file_server() as served:
        url = served.serve("/l.pdf", pdf_of("Letter", 2), "application/pdf")
        person = sdk5.PostRecipient(
            address_name="Jane",
            address_line_1="1 Example Street",
            address_city="Perth",
            address_state="WA",
            address_postal_code="6000",
            address_country="AU",
            return_address_id=address_id,
        )
        post = sdk5.PostLetter(file_url=url, recipients=[person], colour=1, duplex=0)
        price = sdk5_result(api.post_letters_price_post(post))
        sent = sdk5_result(api.post_letters_send_post(post))
    assert price["data"]["total_price"] == sent["data"]["total_price"] > 0
    assert sent["data"]["recipients"][0]["_return_address"]["address_city"] == "Flynn"
    history = sdk5_result(api.post_letters_history_get())
    assert history["data"]["data"][0]["colour"] == 1
    exported = sdk5_result(api.post_letters_export_get("letters.csv"))
    assert "filename=letters.csv" in exported["data"]["url"]
    one = sdk5_result(addresses.post_return_addresses_by_return_address_id_get(address_id))
    assert one["data"]["address_name"] == "Dovecote"
    listed = sdk5_result(addresses.post_return_addresses_get())
    assert listed["data"]["total"] == 1
    updated = sdk5_result(
        addresses.post_return_addresses_by_return_address_id_put(
            address_id,
            sdk5.Address(
                address_name="Renamed",
                address_line_1="2 Sender Road",
                address_city="Flynn",
                address_postal_code="6302",
                address_country="AU",
            ),
        )
    )
    assert updated["data"]["address_name"] == "Renamed"
    deleted = sdk5_result(addresses.post_return_addresses_by_return_address_id_delete(address_id))
    assert deleted["response_code"] == "SUCCESS"


def test_sdk6_manages_return_addresses(live_server: Any, settings: Settings) -> None:
    api = clicksend.AddressesApi(sdk6_client(live_server.url, settings))
    fields = {
        "address_name": "Dovecote",
        "address_line_1": "2 Sender Road",
        "address_city": "Flynn",
        "address_postal_code": "6302",
        "address_country": "AU",
    }
    created = api.create_return_address(
        create_return_address_request=clicksend.CreateReturnAddressRequest(**fields)
    )
    assert created.data is not None and created.data.return_address_id is not None
    address_id = str(created.data.return_address_id)
    one = api.view_specific_return_address(address_id)
    assert one.data is not None and one.data.address_postal_code == "6302"
    listed = api.view_your_return_addresses()
    assert listed.data is not None and listed.data.total == 1
    updated = api.update_return_address(
        address_id,
        # SDK 6's update model has only these two fields: the others keep their value.
        update_return_address_request=clicksend.UpdateReturnAddressRequest(
            address_country="AU", address_state="WA"
        ),
    )
    assert updated.data is not None
    assert (updated.data.address_state, updated.data.address_city) == ("WA", "Flynn")
    deleted = api.delete_return_address(address_id)
    assert deleted.response_code == "SUCCESS" and deleted.data == []


async def test_detect_address_reads_a_letter_or_a_string(client: httpx.AsyncClient) -> None:
    letter = addressed_letter(["Jane Citizen", "1 Example Street", "Perth WA 6000"])
    content = base64.b64encode(letter).decode()
    found = await client.post("/v3/post/letters/detect-address", json={"content": content})
    assert found.status_code == 200, found.text
    assert found.json()["data"]["address_line_1"] == "1 Example Street"
    assert found.json()["data"]["address_country"] == "AU"
    typed = await client.post(
        "/v3/post/letters/detect-address", json={"address": "Jo, 1 Elm St, Austin TX 78701"}
    )
    assert typed.json()["data"]["address_city"] == "Austin"
    assert (await client.post("/v3/post/letters/detect-address", json={})).status_code == 400
    broken = await client.post("/v3/post/letters/detect-address", json={"content": "%%%"})
    assert broken.status_code == 400


def test_sdk5_detects_an_address(live_server: Any, settings: Settings) -> None:
    sdk5 = load_sdk5()
    api = sdk5.DetectAddressApi(sdk5_client(sdk5, live_server.url, settings))
    letter = addressed_letter(["Ann Lee", "10 High St", "Sydney NSW 2000"])
    found = sdk5_result(
        api.detect_address_post(sdk5.UploadFile(content=base64.b64encode(letter).decode()))
    )
    assert (found["data"]["address_state"], found["data"]["address_postal_code"]) == ("NSW", "2000")


async def test_a_letter_whose_document_is_gone_when_dispatched_fails_without_a_proof(
    app: FastAPI, client: httpx.AsyncClient, files: FileServer, settings: Settings
) -> None:
    url = files.serve("/gone.pdf", pdf_of("A4", 2), "application/pdf")
    sent = await client.post("/v3/post/letters/send", json=letter(url))
    [one] = sent.json()["data"]["recipients"]
    [item] = await rows(app, post_items)
    await app.state.runtime.files.delete(item["file_key"])

    await deliver(app.state.runtime.engine, settings)

    [row] = await rows(app)
    assert row["status"] == st.FAILED
    proof_url = f"/sandbox/post/{one['message_id']}/proof/1.png"
    assert (await client.get(proof_url)).status_code == 404
