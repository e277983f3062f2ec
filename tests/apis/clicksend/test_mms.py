"""`/v3/mms/*`: send and price with a fetched or uploaded media file, refusals that charge
nothing, test numbers, cancel, history and export, receipts, and both official SDKs."""

from __future__ import annotations

import asyncio
import base64
import csv
import io
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import clicksend
import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI

from dispatch_support import deliver
from dovecote.app import create_app
from dovecote.channels.mms.channel import MMS
from dovecote.pipeline import status as st
from dovecote.pipeline.channel import ChannelError
from dovecote.pipeline.transports import registry
from dovecote.settings import Settings
from dovecote.storage.tables import message_media, messages
from fetch_support import FileServer, file_server
from media_support import image, load_sdk5, noisy_jpeg, sdk5_client, sdk5_result, sdk6_client
from sms_support import dribble, other_account

US = "+14155552671"


@pytest.fixture
def files() -> Iterator[FileServer]:
    with file_server() as server:
        yield server


def request(media_file: str | None, *messages: dict[str, Any]) -> dict[str, Any]:
    return {"media_file": media_file, "messages": list(messages)}


def msg(to: str = US, **values: Any) -> dict[str, Any]:
    return {"to": to, "subject": "Photo", "body": "Look at this", **values}


def local(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


async def balance(client: httpx.AsyncClient) -> float:
    return float((await client.get("/v3/account")).json()["data"]["balance"])


async def rows(app: FastAPI, table: sa.Table = messages) -> list[dict[str, Any]]:
    async with app.state.runtime.engine.connect() as conn:
        return [dict(r) for r in (await conn.execute(sa.select(table))).mappings()]


# --- send -----------------------------------------------------------------------------


async def test_a_send_fetches_the_media_charges_queues_and_serves_the_file(
    app: FastAPI, client: httpx.AsyncClient, anon: httpx.AsyncClient, files: FileServer
) -> None:
    photo = image("JPEG", (320, 240))
    url = files.serve("/photo.jpg", photo, "image/jpeg")
    before = await balance(client)

    response = await client.post(
        "/v3/mms/send", json=request(url, msg(**{"from": "Dovecote"}, custom_string="c-1"))
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["response_msg"] == "Messages queued for delivery."
    data = body["data"]
    [message] = data["messages"]
    assert message["status"] == "SUCCESS"
    assert (message["to"], message["subject"], message["from"]) == (US, "Photo", "Dovecote")
    assert message["message_parts"] == 1
    assert data["queued_count"] == 1 and data["total_count"] == 1
    assert data["total_price"] == float(message["message_price"]) > 0
    assert data["_currency"]["currency_name_short"] == "USD"
    assert round(before - await balance(client), 4) == data["total_price"]
    [row] = await rows(app)
    assert (row["channel"], row["status"], row["subject"]) == ("mms", st.QUEUED, "Photo")
    [media_row] = await rows(app, message_media)
    assert media_row["message_id"] == row["id"] == message["message_id"]
    assert media_row["content_type"] == "image/jpeg"
    served = await anon.get(local(message["_media_file_url"]))
    assert served.status_code == 200 and served.content == photo
    assert files.hits == ["/photo.jpg"]


async def test_an_uploaded_file_is_taken_back_without_a_fetch(
    settings: Settings, files: FileServer
) -> None:
    # Private fetches refused: the upload link (on 127.0.0.1 via the live base URL)
    # would fail if it were fetched; Dovecote reads it from its own store instead.
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
            params={"convert": "mms"},
            json={"content": base64.b64encode(image("PNG", (500, 400))).decode()},
        )
        url = uploaded.json()["data"]["_url"]
        assert url.startswith("http://127.0.0.1:9/files/uploads/")
        response = await http.post("/v3/mms/send", json=request(url, msg()))
    assert response.status_code == 200, response.text
    assert response.json()["data"]["messages"][0]["status"] == "SUCCESS"


async def test_media_that_is_not_acceptable_is_a_400_invalid_media_file_and_costs_nothing(
    settings: Settings, files: FileServer
) -> None:
    slow_server = await asyncio.start_server(dribble, "127.0.0.1", 0)
    slow = f"http://127.0.0.1:{slow_server.sockets[0].getsockname()[1]}/slow.jpg"
    files.serve("/moved.jpg", b"", "image/jpeg")
    files.files["/moved.jpg"].status = 302
    files.files["/moved.jpg"].headers = {"location": files.url("/photo.jpg")}
    cases: list[tuple[str | None, str]] = [
        (files.serve("/photo.png", image("PNG"), "image/png"), "JPEG or GIF"),
        (files.serve("/photo.bmp", image("BMP"), "image/bmp"), "JPEG or GIF"),
        (files.serve("/broken.jpg", image("JPEG", (400, 400))[:300], "image/jpeg"), "image"),
        (files.serve("/huge.jpg", noisy_jpeg((1600, 1200)), "image/jpeg"), "larger than"),
        (files.serve("/notes.txt", b"just text", "text/plain"), "JPEG or GIF"),
        (files.url("/missing.jpg"), "404"),
        (files.url("/moved.jpg"), "redirects"),
        (slow, "within"),
        ("file:///etc/passwd", "media_file"),
        (None, "required"),
    ]
    # Long enough for a small file from loopback on a loaded machine (0.3 s once timed out
    # fetching broken.jpg in a full parallel run), far under the dribbler's 20 s.
    application = create_app(settings.model_copy(update={"fetch_timeout": 1.5}))
    try:
        async with (
            application.router.lifespan_context(application),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=application),
                base_url="http://testserver",
                auth=(str(settings.owner_username), str(settings.owner_api_key)),
            ) as http,
        ):
            before = await balance(http)
            for url, words in cases:
                for path in ("/v3/mms/send", "/v3/mms/price"):
                    response = await http.post(path, json=request(url, msg()))
                    assert response.status_code == 400, (url, response.text)
                    assert response.json()["response_code"] == "INVALID_MEDIA_FILE", url
                    assert words in response.json()["response_msg"], url
            assert await balance(http) == before
            assert await rows(application) == []
            assert await rows(application, message_media) == []
    finally:
        slow_server.close()


async def test_a_private_media_url_is_refused_when_private_fetches_are_off(
    settings: Settings, files: FileServer
) -> None:
    url = files.serve("/photo.jpg", image("JPEG"), "image/jpeg")
    application = create_app(settings.model_copy(update={"fetch_allow_private": False}))
    async with (
        application.router.lifespan_context(application),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=application),
            base_url="http://testserver",
            auth=(str(settings.owner_username), str(settings.owner_api_key)),
        ) as http,
    ):
        response = await http.post("/v3/mms/send", json=request(url, msg()))
    assert response.status_code == 400
    assert response.json()["response_code"] == "INVALID_MEDIA_FILE"
    assert files.hits == []


async def test_per_message_refusals_are_answered_and_charge_nothing(
    app: FastAPI, client: httpx.AsyncClient, files: FileServer
) -> None:
    url = files.serve("/a.gif", image("GIF"), "image/gif")
    before = await balance(client)
    response = await client.post(
        "/v3/mms/send",
        json=request(url, msg(subject=""), msg(to="12"), msg(body=""), msg(to="+14155552672")),
    )
    assert response.status_code == 200
    statuses = [m["status"] for m in response.json()["data"]["messages"]]
    assert statuses == ["SUBJECT_REQUIRED", "INVALID_RECIPIENT", "EMPTY_MESSAGE", "SUCCESS"]
    assert response.json()["data"]["queued_count"] == 1
    charged = round(before - await balance(client), 4)
    assert charged == response.json()["data"]["total_price"]
    assert len(await rows(app)) == 1


async def test_the_spec_test_numbers_succeed_free_and_never_reach_a_transport(
    app: FastAPI, client: httpx.AsyncClient, files: FileServer, settings: Settings
) -> None:
    url = files.serve("/a.gif", image("GIF"), "image/gif")
    numbers = ["+61411111111", "+61422222222", "+61433333333", "+61444444444"]
    before = await balance(client)
    response = await client.post("/v3/mms/send", json=request(url, *(msg(n) for n in numbers)))
    data = response.json()["data"]
    assert [m["status"] for m in data["messages"]] == ["SUCCESS"] * 4
    assert data["total_price"] == 0
    assert await balance(client) == before
    assert await deliver(app.state.runtime.engine, settings) == 0
    assert {(r["status"], r["due_at"]) for r in await rows(app)} == {(st.TEST, None)}


async def test_price_answers_without_queueing_or_charging(
    app: FastAPI, client: httpx.AsyncClient, files: FileServer
) -> None:
    url = files.serve("/a.jpg", image("JPEG"), "image/jpeg")
    before = await balance(client)
    response = await client.post("/v3/mms/price", json=request(url, msg(), msg("+61411111111")))
    data = response.json()["data"]
    assert [float(m["message_price"]) > 0 for m in data["messages"]] == [True, False]
    assert data["total_price"] == float(data["messages"][0]["message_price"])
    assert await balance(client) == before
    assert await rows(app) == []


async def test_without_access_mms_a_subaccount_is_refused(
    app: FastAPI, client: httpx.AsyncClient, files: FileServer
) -> None:
    created = await client.post(
        "/v3/subaccounts",
        json={
            "api_username": "nomms",
            "password": "a-long-password",
            "email": "nomms@example.com",
            "phone_number": "+61411111111",
            "first_name": "No",
            "last_name": "Mms",
            "access_mms": 0,
        },
    )
    key = created.json()["data"]["api_key"]
    url = files.serve("/a.jpg", image("JPEG"), "image/jpeg")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver", auth=("nomms", key)
    ) as http:
        assert (await http.post("/v3/mms/send", json=request(url, msg()))).status_code == 403
        assert (await http.get("/v3/mms/history")).status_code == 403
    assert files.hits == []  # refused before anything is fetched


# --- cancel -------------------------------------------------------------------------


async def test_scheduled_mms_are_cancelled_and_refunded(
    client: httpx.AsyncClient, files: FileServer
) -> None:
    url = files.serve("/a.jpg", image("JPEG"), "image/jpeg")
    later = int(time.time()) + 3600
    before = await balance(client)
    sent = await client.post(
        "/v3/mms/send",
        json=request(
            url,
            msg(schedule=later),
            msg("+14155552672", schedule=later),
            msg("+14155552673", schedule=later),
        ),
    )
    ids = [m["message_id"] for m in sent.json()["data"]["messages"]]

    one = await client.put(f"/v3/mms/{ids[0]}/cancel")
    assert one.status_code == 200 and one.json()["response_msg"] == "MMS has been cancelled."
    assert (await client.put(f"/v3/mms/{ids[0]}/cancel")).status_code == 404
    rest = await client.put("/v3/mms/cancel-all")
    assert rest.json()["data"] == {"count": 2}
    assert await balance(client) == before


async def test_cancel_does_not_reach_sms(app: FastAPI, client: httpx.AsyncClient) -> None:
    later = int(time.time()) + 3600
    sent = await client.post(
        "/v3/sms/send", json={"messages": [{"to": US, "body": "x", "schedule": later}]}
    )
    sms_id = sent.json()["data"]["messages"][0]["message_id"]
    assert (await client.put(f"/v3/mms/{sms_id}/cancel")).status_code == 404
    assert (await client.put("/v3/mms/cancel-all")).json()["data"] == {"count": 0}


# --- history, export, receipts -----------------------------------------------------


async def test_history_lists_mms_only_with_subject_and_a_working_media_link(
    app: FastAPI, client: httpx.AsyncClient, anon: httpx.AsyncClient, files: FileServer
) -> None:
    gif = image("GIF")
    url = files.serve("/a.gif", gif, "image/gif")
    await client.post(
        "/v3/mms/send",
        json=request(url, msg(subject="First"), msg("+14155552672", subject="Second")),
    )
    await client.post("/v3/sms/send", json={"messages": [{"to": US, "body": "an sms"}]})

    page = (await client.get("/v3/mms/history", params={"order_by": "subject:desc"})).json()["data"]
    assert page["total"] == 2
    assert [e["subject"] for e in page["data"]] == ["Second", "First"]
    first = page["data"][1]
    assert first["message_parts"] == "1.00" and first["status"] == "Queued"
    assert (await anon.get(local(first["_media_file_url"]))).content == gif
    searched = (await client.get("/v3/mms/history", params={"q": "subject:sec"})).json()["data"]
    assert [e["subject"] for e in searched["data"]] == ["Second"]

    link = (await client.get("/v3/mms/history/export", params={"filename": "mine"})).json()
    download = await anon.get(local(link["data"]["url"]))
    assert download.status_code == 200
    assert 'filename="mine.csv"' in download.headers["content-disposition"]
    table = list(csv.DictReader(io.StringIO(download.text)))
    assert sorted(r["subject"] for r in table) == ["First", "Second"]
    sms_link = (await client.get("/v3/sms/history/export")).json()["data"]["url"]
    replayed = local(sms_link).replace("/v3/sms/", "/v3/mms/")
    assert (await anon.get(replayed)).status_code == 403


async def test_sandbox_receipts_are_polled_looked_up_and_marked_read(
    app: FastAPI, client: httpx.AsyncClient, files: FileServer, settings: Settings
) -> None:
    url = files.serve("/a.jpg", image("JPEG"), "image/jpeg")
    sent = await client.post("/v3/mms/send", json=request(url, msg()))
    message_id = sent.json()["data"]["messages"][0]["message_id"]
    engine = app.state.runtime.engine
    await deliver(engine, settings)
    await deliver(engine, settings)  # the receipt, after the sandbox's (zero) delay

    page = (await client.get("/v3/mms/receipts")).json()["data"]
    [receipt] = page["data"]
    assert (receipt["message_id"], receipt["message_type"]) == (message_id, "mms")
    assert receipt["status_code"] == 201
    assert (await client.get("/v3/sms/receipts")).json()["data"]["total"] == 0

    one = (await client.get(f"/v3/mms/receipts/{message_id}")).json()
    assert one["response_msg"] == "Here is your MMS receipt."
    assert (one["data"]["status"], one["data"]["subject"]) == ("Delivered", "Photo")
    assert (await client.get("/v3/mms/receipts/NOPE")).status_code == 404

    marked = await client.put("/v3/mms/receipts-read", json={})
    assert marked.json()["data"] is None
    assert (await client.get("/v3/mms/receipts")).json()["data"]["total"] == 0


async def test_another_accounts_mms_are_invisible(
    app: FastAPI, client: httpx.AsyncClient, files: FileServer
) -> None:
    url = files.serve("/a.jpg", image("JPEG"), "image/jpeg")
    sent = await client.post("/v3/mms/send", json=request(url, msg()))
    message_id = sent.json()["data"]["messages"][0]["message_id"]
    stranger = await other_account(app.state.runtime.engine)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://testserver",
        auth=(stranger.username, stranger.api_key),
    ) as http:
        assert (await http.get("/v3/mms/history")).json()["data"]["total"] == 0
        assert (await http.get(f"/v3/mms/receipts/{message_id}")).status_code == 404
        assert (await http.put(f"/v3/mms/{message_id}/cancel")).status_code == 404


# --- transports -----------------------------------------------------------------------


def test_a_real_transport_for_mms_refuses_to_start(settings: Settings) -> None:
    configured = settings.model_copy(update={"transports": {"mms": "smtp"}})
    with pytest.raises(ChannelError, match="no real delivery yet"):
        registry.check([MMS], {"sandbox": "x", "smtp": "y"}, configured)
    registry.check(
        [MMS], {"sandbox": "x"}, settings.model_copy(update={"transports": {"mms": "sandbox"}})
    )


# --- the official SDKs ----------------------------------------------------------------


def test_sdk6_sends_prices_lists_and_exports(live_server: Any, settings: Settings) -> None:
    with file_server() as served:
        url = served.serve("/a.jpg", image("JPEG"), "image/jpeg")
        api = clicksend.MmsApi(sdk6_client(live_server.url, settings))
        message = clicksend.SendMmsRequestMessagesInner(
            to=US, subject="From SDK", body="Hello", var_from="Dovecote"
        )
        sent = api.send_mms(
            send_mms_request=clicksend.SendMmsRequest(media_file=url, messages=[message])
        )
        assert sent.data is not None and sent.data.messages is not None
        assert sent.data.messages[0].status == "SUCCESS"
        assert sent.data.messages[0].subject == "From SDK"
        assert sent.data.messages[0].media_file_url is not None
        price = api.calculate_mms_price(
            calculate_mms_price_request=clicksend.CalculateMmsPriceRequest(
                media_file=url,
                messages=[
                    clicksend.CalculateMmsPriceRequestMessagesInner(to=US, subject="S", body="B")
                ],
            )
        )
        assert price.data is not None and price.data.total_price is not None
    history = api.view_mms_history()
    assert history.data is not None and history.data.data is not None
    assert history.data.data[0].subject == "From SDK"
    exported = api.export_mms_history(filename="mms.csv")
    assert exported.data is not None and "/v3/mms/history/export/download" in str(exported.data.url)


def test_sdk5_sends_and_polls_receipts(live_server: Any, settings: Settings) -> None:
    sdk5 = load_sdk5()
    api = sdk5.MMSApi(sdk5_client(sdk5, live_server.url, settings))
    with file_server() as served:
        url = served.serve("/a.gif", image("GIF"), "image/gif")
        message = sdk5.MmsMessage(to=US, subject="SDK 5", body="Hello", _from="Dovecote")
        sent = sdk5_result(
            api.mms_send_post(sdk5.MmsMessageCollection(media_file=url, messages=[message]))
        )
    assert sent["data"]["messages"][0]["status"] == "SUCCESS"
    receipts = sdk5_result(api.mms_receipts_get())
    assert receipts["data"]["total"] == 0
    marked = sdk5_result(api.mms_receipts_read_put())
    assert marked["response_code"] == "SUCCESS"
    history = sdk5_result(api.mms_history_get())
    assert history["data"]["data"][0]["subject"] == "SDK 5"
    exported = sdk5_result(api.mms_history_export_get("sdk5.csv"))
    assert "filename=sdk5.csv" in exported["data"]["url"]


async def test_the_same_mms_twice_is_throttled_but_an_sms_with_its_text_is_not(
    client: httpx.AsyncClient, files: FileServer
) -> None:
    url = files.serve("/a.jpg", image("JPEG"), "image/jpeg")
    await client.post("/v3/sms/send", json={"messages": [{"to": US, "body": "Look at this"}]})
    first = await client.post("/v3/mms/send", json=request(url, msg()))
    again = await client.post("/v3/mms/send", json=request(url, msg()))
    assert first.json()["data"]["messages"][0]["status"] == "SUCCESS"
    assert again.json()["data"]["messages"][0]["status"] == "THROTTLED"
