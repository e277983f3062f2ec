"""`POST /v3/email/receipts`: a test email delivery receipt, pushed to a real receiver."""

from __future__ import annotations

import httpx

from reseller_support import spec_example
from sms_support import webhook_peer


def _example() -> dict[str, object]:
    data: dict[str, object] = spec_example("/email/receipts", "post")
    return data


async def test_a_test_email_receipt_is_posted_to_the_url_in_the_spec_shape(
    client: httpx.AsyncClient,
) -> None:
    with webhook_peer() as peer:
        response = await client.post("/v3/email/receipts", json={"url": peer.url})

    assert response.status_code == 200, response.text
    data = response.json()["data"]
    example = _example()
    assert set(data) == set(example)
    assert {k: type(v) for k, v in data.items()} == {k: type(v) for k, v in example.items()}
    assert data["status"] == "Delivered"
    assert data["message_id"].endswith("@dovecote.localhost")
    assert len(peer.requests) == 1
    assert peer.requests[0]["json"] == data
    # Nothing is invented in the account's history.
    assert (await client.get("/v3/email/history")).json()["data"]["total"] == 0


async def test_poll_and_bad_or_failing_urls_are_a_clear_400(client: httpx.AsyncClient) -> None:
    with webhook_peer() as peer:
        peer.status = 500
        failing = await client.post("/v3/email/receipts", json={"url": peer.url})
    polled = await client.post("/v3/email/receipts", json={"url": "poll"})
    missing = await client.post("/v3/email/receipts", json={})

    assert failing.status_code == 400 and "HTTP 500" in failing.json()["response_msg"]
    assert polled.status_code == 400 and "pushed" in polled.json()["response_msg"]
    assert missing.status_code == 400
