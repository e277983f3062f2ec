"""Webhook signing secrets are stored sealed, shown and used in clear."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI

from dovecote.storage.tables import webhook_secrets
from routing_support import start_up_again


async def stored(app: FastAPI) -> list[dict[str, Any]]:
    async with app.state.runtime.engine.connect() as conn:
        return [dict(r) for r in (await conn.execute(sa.select(webhook_secrets))).mappings()]


async def test_the_secret_and_the_previous_one_are_stored_sealed_and_shown_clear(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    first = (await client.get("/dovecote/webhooks/secret")).json()["data"]["secret"]
    assert first.startswith("whsec_")
    [row] = await stored(app)
    assert row["secret"].startswith("enc:") and first not in str(row)
    rotated = (await client.post("/dovecote/webhooks/secret")).json()["data"]
    assert rotated["previous_secret"] == first and rotated["secret"] != first
    [row] = await stored(app)
    assert row["previous_secret"].startswith("enc:")
    assert first not in str(row) and rotated["secret"] not in str(row)
    again = (await client.get("/dovecote/webhooks/secret")).json()["data"]
    assert again["secret"] == rotated["secret"] and again["previous_secret"] == first


async def test_a_secret_stored_clear_before_sealing_keeps_working_and_is_sealed_at_start_up(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await client.get("/dovecote/webhooks/secret")
    clear = "whsec_c2VjcmV0LXdyaXR0ZW4tYmVmb3JlLXNlYWxpbmc="
    async with app.state.runtime.engine.begin() as conn:
        await conn.execute(webhook_secrets.update().values(secret=clear))
    shown = (await client.get("/dovecote/webhooks/secret")).json()["data"]["secret"]
    assert shown == clear
    await start_up_again(app)
    [row] = await stored(app)
    assert row["secret"].startswith("enc:")
    assert (await client.get("/dovecote/webhooks/secret")).json()["data"]["secret"] == clear


async def test_a_secret_no_configured_key_opens_is_left_as_stored_and_start_up_goes_on(
    app: FastAPI, client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    await client.get("/dovecote/webhooks/secret")
    [before] = await stored(app)
    await start_up_again(app, secret_key="another-key")  # DOVECOTE_SECRET_KEY_PREVIOUS empty

    assert await stored(app) == [before]
    assert any("webhook secret of account" in r.getMessage() for r in caplog.records)
