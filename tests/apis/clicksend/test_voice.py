"""`/v3/voice/...`: text-to-speech calls priced by their synthesized length, a sandbox
that speaks (a WAV per call), receipts with key presses, history, cancel; SDK round trips."""

from __future__ import annotations

import asyncio
import csv
import io
import time
import wave
from pathlib import Path
from typing import Any

import clicksend
import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI

from dispatch_support import deliver
from dovecote import wiring
from dovecote.channels.voice import speech
from dovecote.channels.voice.sandbox import wav_key
from dovecote.files.store import LocalFileStore
from dovecote.settings import Settings
from dovecote.storage.db import create_engine
from dovecote.storage.tables import accounts, events, message_payloads, messages, users
from voice_support import sdk5_body, sdk5_client, with_files

US_MINUTE = 40_000  # data/prices.json: voice, USD, US
LONG = " ".join(["This sentence keeps the call going for a good while longer."] * 16)


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    return with_files(settings, tmp_path, sandbox_rules=["+12025550077=keys:42"])


def us(n: int) -> str:
    return f"+1202555{n:04d}"


def call(to: str, body: str = "Hello from the voice sandbox.", **extra: Any) -> dict[str, Any]:
    return {"to": to, "body": body, "voice": "female", "lang": "en-us", **extra}


def engine_of(app: FastAPI) -> Any:
    return app.state.runtime.engine


async def balance(app: FastAPI) -> int:
    async with engine_of(app).connect() as conn:
        query = sa.select(accounts.c.balance_micros).join(
            users, users.c.account_id == accounts.c.id
        )
        return int((await conn.execute(query.where(users.c.username == "owner"))).scalar_one())


async def count(app: FastAPI, table: sa.Table) -> int:
    async with engine_of(app).connect() as conn:
        query = sa.select(sa.func.count()).select_from(table)
        return int((await conn.execute(query)).scalar_one())


async def test_send_charges_per_started_minute_of_the_synthesized_speech(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    before = await balance(app)
    response = await client.post(
        "/v3/voice/send", json={"messages": [call(us(1)), call(us(2), LONG)]}
    )

    assert response.status_code == 200, response.text
    data = response.json()["data"]
    short, long = data["messages"]
    assert (short["status"], short["message_parts"], short["message_price"]) == (
        "SUCCESS",
        1,
        "0.0400",
    )
    seconds = speech.synthesize(LONG, "en-us+f3").seconds
    # eSpeak keeps a little state between utterances (what it spoke before, in which
    # voice), so the same text can come out a few milliseconds longer or shorter
    # depending on the tests run earlier in the process; minutes are what is charged.
    assert 60 < seconds < 120 and long["_seconds"] == pytest.approx(seconds, abs=0.05)
    assert (long["message_parts"], long["message_price"]) == (2, "0.0800")
    assert data["total_price"] == pytest.approx(0.12)
    assert before - await balance(app) == 3 * US_MINUTE
    assert await count(app, message_payloads) == 2


async def test_price_answers_what_send_charges_without_storing_or_charging(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    before = await balance(app)
    response = await client.post("/v3/voice/price", json={"messages": [call(us(3), LONG)]})

    assert response.status_code == 200, response.text
    (message,) = response.json()["data"]["messages"]
    assert (message["status"], message["message_parts"]) == ("SUCCESS", 2)
    assert await balance(app) == before
    assert await count(app, messages) == 0


async def test_lang_and_voice_are_checked_against_the_language_list(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    before = await balance(app)
    response = await client.post(
        "/v3/voice/send",
        json={
            "messages": [
                call(us(4), lang="xx-yy"),
                call(us(5), voice="robot"),
                call(us(6), lang="fr-ca", voice="male"),  # fr-ca has a female voice only
                call(us(7), voice=None),
                call("not a number"),
                call(us(8), body="  "),
                call(us(9), lang="DE-de", voice="Male"),
            ]
        },
    )

    statuses = [m["status"] for m in response.json()["data"]["messages"]]
    assert statuses == [
        "INVALID_LANG",
        "INVALID_VOICE",
        "INVALID_VOICE",
        "INVALID_VOICE",
        "INVALID_RECIPIENT",
        "EMPTY_MESSAGE",
        "SUCCESS",
    ]
    assert before - await balance(app) == US_MINUTE
    assert await count(app, messages) == 1


async def test_flags_other_than_0_or_1_are_a_400(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/v3/voice/send", json={"messages": [call(us(10), require_input=7)]}
    )

    assert response.status_code == 400
    assert response.json()["response_code"] == "BAD_REQUEST"


async def test_the_spec_test_numbers_succeed_free_and_never_reach_a_transport(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings
) -> None:
    before = await balance(app)
    numbers = ["+61411111111", "+14055555555", "+447777777777"]
    response = await client.post("/v3/voice/send", json={"messages": [call(n) for n in numbers]})

    assert [m["status"] for m in response.json()["data"]["messages"]] == ["SUCCESS"] * 3
    assert response.json()["data"]["total_price"] == 0
    assert await balance(app) == before
    assert await deliver(engine_of(app), settings) == 0
    first = response.json()["data"]["messages"][0]["message_id"]
    assert (await client.get(f"/sandbox/voice/{first}.wav")).status_code == 404


async def test_the_sandbox_speaks_each_call_into_a_wav_and_reports_the_keys_pressed(
    app: FastAPI, client: httpx.AsyncClient, anon: httpx.AsyncClient, settings: Settings
) -> None:
    body = "Press four then two to confirm your booking for Tuesday."
    response = await client.post(
        "/v3/voice/send",
        json={"messages": [call(us(77), body, require_input=1), call(us(78), body)]},
    )
    asked, plain = (m["message_id"] for m in response.json()["data"]["messages"])
    assert (await client.get(f"/sandbox/voice/{asked}.wav")).status_code == 404  # not yet

    assert await deliver(engine_of(app), settings) == 2  # sent: the WAV is rendered
    assert await deliver(engine_of(app), settings) == 2  # settled: the receipts

    wav = await client.get(f"/sandbox/voice/{asked}.wav")
    assert wav.status_code == 200 and wav.headers["content-type"] == "audio/wav"
    with wave.open(io.BytesIO(wav.content)) as audio:
        seconds = audio.getnframes() / audio.getframerate()
    expected = len(body.split()) / speech.SPEAKING_RATE * 60
    assert abs(seconds - expected) <= 0.2 * expected
    assert (await anon.get(f"/sandbox/voice/{asked}.wav")).status_code == 401

    receipts = (await client.get("/v3/voice/receipts")).json()["data"]["data"]
    by_id = {r["message_id"]: r for r in receipts}
    assert by_id[asked]["digits"] == "42" and by_id[plain]["digits"] is None
    assert by_id[asked]["status_code"] == "201"
    one = (await client.get(f"/v3/voice/receipts/{asked.lower()}")).json()["data"]
    assert one["digits"] == "42"
    assert (await client.put("/v3/voice/receipts-read")).status_code == 200
    assert (await client.get("/v3/voice/receipts")).json()["data"]["total"] == 0
    # SMS's receipts are not voice's.
    assert (await client.get("/v3/sms/receipts")).json()["data"]["total"] == 0

    history = (await client.get("/v3/voice/history")).json()["data"]["data"]
    assert {(h["message_id"], h["status"], h["lang"], h["voice"]) for h in history} == {
        (asked, "Delivered", "en-us", "female"),
        (plain, "Delivered", "en-us", "female"),
    }


async def test_a_wav_is_only_for_the_account_that_sent_the_call(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings
) -> None:
    from sms_support import as_caller, other_account

    response = await client.post("/v3/voice/send", json={"messages": [call(us(11))]})
    message_id = response.json()["data"]["messages"][0]["message_id"]
    await deliver(engine_of(app), settings)
    stranger = await other_account(engine_of(app))

    async with as_caller(app, stranger) as theirs:
        assert (await theirs.get(f"/sandbox/voice/{message_id}.wav")).status_code == 404
        assert (await theirs.get("/v3/voice/history")).json()["data"]["total"] == 0
    assert (await client.get(f"/sandbox/voice/{message_id}.wav")).status_code == 200


async def test_a_workers_sandbox_speaks_into_the_runtimes_store_which_serves_the_wav(
    app: FastAPI, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    """The worker's transports are handed the process's store (`Runtime.files`), the one
    the API serves renders from, not a store opened from the settings."""
    runtime = app.state.runtime
    given = LocalFileStore(tmp_path / "runtime-files")
    runtime.files = given
    response = await client.post("/v3/voice/send", json={"messages": [call(us(12))]})
    message_id = response.json()["data"]["messages"][0]["message_id"]
    worker = wiring.build_worker(runtime)  # as `dovecote worker` builds it
    try:
        assert await worker.dispatcher.run_once() == 1  # sent: the WAV is rendered
    finally:
        await worker.dispatcher.close()

    assert await given.exists(wav_key(message_id))
    assert (await client.get(f"/sandbox/voice/{message_id}.wav")).status_code == 200


async def test_cancel_refunds_a_scheduled_call_and_cancel_all_the_rest(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    later = int(time.time()) + 3600
    response = await client.post(
        "/v3/voice/send", json={"messages": [call(us(n), schedule=later) for n in (12, 13, 14)]}
    )
    first = response.json()["data"]["messages"][0]["message_id"]
    before = await balance(app)

    assert (await client.put(f"/v3/voice/{first}/cancel")).status_code == 200
    assert (await client.put(f"/v3/voice/{first}/cancel")).status_code == 404
    all_rest = await client.put("/v3/voice/cancel-all")

    assert all_rest.json()["data"] == {"count": 2}
    assert await balance(app) - before == 3 * US_MINUTE
    # Each call's acceptance and cancellation are events, which statistics count.
    async with engine_of(app).connect() as conn:
        written = (
            await conn.execute(
                sa.select(events.c.type, sa.func.count())
                .where(events.c.channel == "voice")
                .group_by(events.c.type)
            )
        ).all()
    assert dict(written) == {"queued": 3, "cancelled": 3}


async def test_history_exports_as_csv_through_a_signed_link(
    client: httpx.AsyncClient, anon: httpx.AsyncClient
) -> None:
    await client.post("/v3/voice/send", json={"messages": [call(us(15))]})
    url = (await client.get("/v3/voice/history/export")).json()["data"]["url"]

    download = await anon.get(url)
    rows = list(csv.DictReader(io.StringIO(download.text)))
    assert download.status_code == 200
    assert [(r["to"], r["lang"], r["message_price"]) for r in rows] == [(us(15), "en-us", "0.0400")]
    sms_link = url.replace("/voice/", "/sms/")
    assert (await anon.get(sms_link)).status_code == 403  # a voice link opens voice only


# --- the official SDKs ------------------------------------------------------------------


def _deliver_all(database_url: str, settings: Settings) -> None:
    async def run() -> None:
        engine = create_engine(database_url)
        try:
            await deliver(engine, settings)
            await deliver(engine, settings)
        finally:
            await engine.dispose()

    asyncio.run(run())


def test_sdk6_round_trips_every_voice_operation(live_server: Any, settings: Settings) -> None:
    config = clicksend.Configuration(
        host=live_server.url, username=settings.owner_username, password=settings.owner_api_key
    )
    api = clicksend.VoiceMessagingApi(clicksend.ApiClient(config))
    inner = clicksend.SendVoiceMessageRequestMessagesInner
    later = int(time.time()) + 3600

    languages = api.view_voice_languages()
    assert isinstance(languages, clicksend.ViewVoiceLanguages) and languages.data is not None
    assert "en-au" in [language.code for language in languages.data]

    price = api.calculate_voice_price(
        calculate_voice_price_request=clicksend.CalculateVoicePriceRequest(
            messages=[
                clicksend.CalculateVoicePriceRequestMessagesInner(
                    to=us(20), body="Price me", voice="male", lang="en-gb"
                )
            ]
        )
    )
    assert isinstance(price, clicksend.CalculateVoicePrice) and price.data is not None
    assert price.data.total_price == pytest.approx(0.04)

    sent = api.send_voice_message(
        send_voice_message_request=clicksend.SendVoiceMessageRequest(
            messages=[
                inner(to=us(77), body="Press a key", voice="female", lang="en-au"),
                inner(to=us(21), body="Later", voice="male", lang="en-us"),
            ]
        )
    )
    assert isinstance(sent, clicksend.SendVoiceMessage) and sent.data is not None
    assert sent.data.messages is not None
    first = sent.data.messages[0]
    assert (first.status, first.lang, first.voice, first.message_price) == (
        "SUCCESS",
        "en-au",
        "female",
        "0.0400",
    )
    _deliver_all(settings.database_url, settings)

    receipts = api.view_voice_receipts()
    assert isinstance(receipts, clicksend.ViewVoiceReceipts) and receipts.data is not None
    assert {r.message_id for r in receipts.data.data or []} == {
        m.message_id for m in sent.data.messages
    }
    history = api.get_voice_history()
    assert isinstance(history, clicksend.GetVoiceHistory) and history.data is not None
    assert history.data.total == 2
    export = api.export_voice_history(filename="calls.csv")
    assert export.data is not None and "calls.csv" in (export.data.url or "")

    # Scheduled calls cancel; the SDK sends a schedule the JSON way only as an int.
    with httpx.Client(
        base_url=live_server.url, auth=(settings.owner_username or "", settings.owner_api_key or "")
    ) as http:
        queued = http.post(
            "/v3/voice/send", json={"messages": [call(us(n), schedule=later) for n in (22, 23)]}
        ).json()["data"]["messages"]
    cancelled = api.cancel_voice_message(message_id=queued[0]["message_id"])
    assert isinstance(cancelled, clicksend.CancelVoiceMessage) and cancelled.http_code == 200
    everything = api.cancel_all_voice_messages()
    assert everything.data is not None and everything.data.count == 1


def test_sdk5_round_trips_the_voice_operations(live_server: Any, settings: Settings) -> None:
    sdk5, client = sdk5_client(live_server.url, settings)
    api = sdk5.VoiceApi(client)
    collection = sdk5.VoiceMessageCollection(
        messages=[
            sdk5.VoiceMessage(
                to=us(77),
                body="Hello",
                voice="female",
                lang="en-us",
                require_input=1,
                custom_string="sdk5",
                country="US",
            )
        ]
    )

    price = sdk5_body(api.voice_price_post(collection))
    assert price["data"]["messages"][0]["message_parts"] == 1
    sent = sdk5_body(api.voice_send_post(collection))
    message_id = sent["data"]["messages"][0]["message_id"]
    _deliver_all(settings.database_url, settings)

    receipts = sdk5_body(api.voice_receipts_get())
    assert receipts["data"]["data"][0]["digits"] == "42"
    assert sdk5_body(api.voice_lang_get())["data"][0]["code"] == "en-us"
    history = sdk5_body(api.voice_history_get())
    assert history["data"]["data"][0]["message_id"] == message_id
    assert "url" in sdk5_body(api.voice_history_export_get("calls.csv"))["data"]
    test_receipt = sdk5_body(api.voice_receipts_post(sdk5.Url(url="poll")))
    assert test_receipt["data"]["message_type"] == "voice"
    assert sdk5_body(api.voice_receipts_read_put())["http_code"] == 200
    assert sdk5_body(api.voice_cancel_all_put())["data"]["count"] == 0


async def test_receipts_read_takes_date_before_from_the_query_as_the_spec_puts_it(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings
) -> None:
    await client.post("/v3/voice/send", json={"messages": [call(us(16))]})
    await deliver(engine_of(app), settings)
    await deliver(engine_of(app), settings)

    bad = await client.put("/v3/voice/receipts-read", params={"date_before": "soon"})
    early = await client.put("/v3/voice/receipts-read", params={"date_before": 1000})
    still = (await client.get("/v3/voice/receipts")).json()["data"]["total"]
    late = await client.put("/v3/voice/receipts-read", params={"date_before": 2**40})

    assert bad.status_code == 400 and (early.status_code, late.status_code) == (200, 200)
    assert still == 1
    assert (await client.get("/v3/voice/receipts")).json()["data"]["total"] == 0
