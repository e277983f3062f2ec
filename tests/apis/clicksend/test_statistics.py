"""`/v3/statistics/{sms,voice}` and `/dovecote/statistics/{channel}`: rollups kept by the
event sink agree with the messages after sends through the API and the worker."""

from __future__ import annotations

import time
from typing import Any

import clicksend
import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI

from dispatch_support import deliver
from dovecote.settings import Settings
from dovecote.storage.tables import SYSTEM_SOURCE, messages
from fetch_support import file_server
from media_support import image
from sendgrid_support import bearer, verified_sender
from sms_support import fan_out

DELIVERED, FAILS, REJECTED = "+12025550123", "+12025550003", "+12025550013"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    rules = ["+1202555000=failed:302", "+1202555001=reject", "bounce@=reject"]
    return settings.model_copy(update={"sandbox_rules": rules})


async def statuses(client: httpx.AsyncClient, channel: str) -> dict[str, Any]:
    response = await client.get(f"/dovecote/statistics/{channel}")
    assert response.status_code == 200, response.text
    total: dict[str, Any] = response.json()["data"]["total"]["statuses"]
    return total


async def truth(app: FastAPI, channel: str) -> dict[str, tuple[int, int]]:
    """What a scan of the messages says (the rollups must never need one)."""
    query = (
        sa.select(messages.c.status, sa.func.count(), sa.func.sum(messages.c.price_micros))
        .where(
            messages.c.channel == channel,
            messages.c.direction == "out",
            messages.c.is_test.is_(False),
            messages.c.source.is_distinct_from(SYSTEM_SOURCE),
        )
        .group_by(messages.c.status)
    )
    async with app.state.runtime.engine.connect() as conn:
        rows = (await conn.execute(query)).all()
    return {
        status: (count, 0 if status == "cancelled" else int(price)) for status, count, price in rows
    }


def as_tuples(counted: dict[str, Any]) -> dict[str, tuple[int, int]]:
    return {
        status: (tally["count"], round(tally["price"] * 1_000_000))
        for status, tally in counted.items()
        if tally["count"]
    }


async def test_sms_counts_follow_the_api_and_the_worker_status_by_status(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings
) -> None:
    later = int(time.time()) + 3600
    sent = await client.post(
        "/v3/sms/send",
        json={
            "messages": [
                {"to": DELIVERED, "body": "one"},
                {"to": FAILS, "body": "two"},
                {"to": REJECTED, "body": "three"},
                {"to": DELIVERED, "body": "later", "schedule": later},
                {"to": "+61411111111", "body": "a test number: never counted"},
            ]
        },
    )
    assert sent.status_code == 200, sent.text
    price = round(float(sent.json()["data"]["messages"][0]["message_price"]) * 1_000_000)
    scheduled = sent.json()["data"]["messages"][3]["message_id"]

    queued = await statuses(client, "sms")
    assert as_tuples(queued) == {"queued": (4, 4 * price)}

    assert (await client.put(f"/v3/sms/{scheduled}/cancel")).status_code == 200
    while await deliver(app.state.runtime.engine, settings):
        pass

    final = as_tuples(await statuses(client, "sms"))
    assert final == {"delivered": (1, price), "failed": (2, 2 * price), "cancelled": (1, 0)}
    assert final == await truth(app, "sms")

    spec = (await client.get("/v3/statistics/sms")).json()["data"]
    assert len(spec["stats"]) == 30
    assert spec["stats"] == spec["stat"]
    assert spec["total"]["outbound"] == {"count": 3, "price": pytest.approx(3 * price / 1e6)}
    assert spec["total"]["bounced"] == {"count": 2}
    assert spec["stats"][-1]["outbound"]["count"] == 3  # today


async def test_email_counts_follow_mail_send_and_the_worker(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings
) -> None:
    await verified_sender(app.state.runtime.engine)
    body = {
        "personalizations": [
            {"to": [{"email": "ann@example.net"}]},
            {"to": [{"email": "bounce@example.net"}]},
        ],
        "from": {"email": "news@example.com"},
        "subject": "Hello",
        "content": [{"type": "text/plain", "value": "Hello"}],
    }
    response = await client.post("/v3/mail/send", json=body, headers=bearer(settings))
    assert response.status_code == 202, response.text
    while await deliver(app.state.runtime.engine, settings):
        pass

    final = as_tuples(await statuses(client, "email"))
    assert final == {"delivered": (1, final["delivered"][1]), "failed": (1, final["failed"][1])}
    assert final == await truth(app, "email")


async def test_a_range_and_an_unknown_channel_answer_every_day_with_zeros(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get(
        "/dovecote/statistics/fax", params={"date_from": 0, "date_to": 6 * 86_400}
    )
    data = response.json()["data"]
    assert response.status_code == 200
    assert [day["date"] for day in data["days"]] == [n * 86_400 for n in range(7)]
    assert data["total"] == {"count": 0, "price": 0.0, "statuses": {}}


@pytest.mark.parametrize(
    "params",
    [{"date_from": 10 * 86_400, "date_to": 0}, {"date_from": 0, "date_to": 5000 * 86_400}],
)
async def test_a_reversed_or_too_long_range_is_refused(
    client: httpx.AsyncClient, params: dict[str, int]
) -> None:
    response = await client.get("/dovecote/statistics/sms", params=params)
    assert response.status_code == 400
    assert response.json()["response_code"] == "BAD_REQUEST"


def test_the_sdk_reads_sms_and_voice_statistics(live_server: Any, settings: Settings) -> None:
    config = clicksend.Configuration(
        host=live_server.url, username=settings.owner_username, password=settings.owner_api_key
    )
    with clicksend.ApiClient(config) as api_client:
        api = clicksend.StatisticsApi(api_client)
        sms = api.view_sms_statistics()
        voice = api.view_voice_statistics()

    assert sms.http_code == 200 and voice.http_code == 200
    assert sms.data is not None and voice.data is not None
    assert sms.data.stats is not None and len(sms.data.stats) == 30
    assert sms.data.total is not None and sms.data.total.outbound is not None
    assert sms.data.total.outbound.count == 0
    assert sms.data.currency is not None and sms.data.currency.currency_name_short == "USD"
    assert voice.data.stats is not None and voice.data.stats[0].bounced is not None


async def test_mms_and_sms_campaign_messages_are_counted_like_any_send(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings
) -> None:
    # Every caller of `accept` passes the event log: an MMS through the API and an SMS
    # campaign's fan-out by the worker's job are counted once, as queued.
    with file_server() as files:
        url = files.serve("/photo.jpg", image("JPEG"), "image/jpeg")
        mms = await client.post(
            "/v3/mms/send",
            json={"media_file": url, "messages": [{"to": DELIVERED, "subject": "Hi", "body": "x"}]},
        )
    assert mms.status_code == 200, mms.text
    assert as_tuples(await statuses(client, "mms")) == await truth(app, "mms")
    assert sum(count for count, _ in (await truth(app, "mms")).values()) == 1

    listed = await client.post("/v3/lists", json={"list_name": "Stats"})
    list_id = listed.json()["data"]["list_id"]
    for number in ("+12025550101", "+12025550102"):
        added = await client.post(f"/v3/lists/{list_id}/contacts", json={"phone_number": number})
        assert added.status_code == 200, added.text
    campaign = await client.post(
        "/v3/sms-campaigns/send",
        json={"list_id": list_id, "name": "Stats", "body": "Hello", "from": "Dovecote"},
    )
    assert campaign.status_code == 200, campaign.text
    await fan_out(app)

    counted = as_tuples(await statuses(client, "sms"))
    assert counted == await truth(app, "sms")
    assert counted["queued"][0] == 2
