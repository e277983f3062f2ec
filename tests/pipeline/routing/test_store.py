"""Connector secrets at rest: sealed in the database, in SQLAlchemy's echo of the
parameters, and moved to a new key at start-up."""

from __future__ import annotations

import base64
import json
import logging

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI

from dovecote.pipeline.routing import store
from dovecote.pipeline.routing.transport import build
from dovecote.settings import Settings
from dovecote.storage.tables import connectors
from dovecote.wiring import TRANSPORTS
from routing_support import start_up_again

CLEAR = "UPSTREAM-KEY-8E2D41C0B7"
TOKEN = "receipt-token-0A9F33E1D2"


async def stored_settings(app: FastAPI, name: str) -> dict[str, str]:
    async with app.state.runtime.engine.connect() as conn:
        query = sa.select(connectors.c.settings).where(connectors.c.name == name)
        value = (await conn.execute(query)).scalar_one()
    return dict(value if isinstance(value, dict) else json.loads(value))


async def add(client: httpx.AsyncClient, name: str = "up") -> None:
    settings = {
        "url": "http://127.0.0.1:9",
        "username": "u",
        "password": CLEAR,
        "receipts": "push",
        "receipt_token": TOKEN,
    }
    response = await client.post(
        "/dovecote/connectors", json={"name": name, "transport": "http", "settings": settings}
    )
    assert response.status_code == 200, response.text


async def test_connector_secrets_are_stored_sealed_and_echoed_only_as_ciphertext(
    app: FastAPI, client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    # The statement echo (`echo=True` is this logger at INFO) and the drivers' DEBUG logs.
    for name in ("sqlalchemy.engine", "aiosqlite", "asyncpg"):
        caplog.set_level(logging.DEBUG, logger=name)
    await add(client)
    changed = await client.patch("/dovecote/connectors/up", json={"settings": {"batch": 10}})
    assert changed.status_code == 200
    assert "enc:" in caplog.text  # the echo ran, and showed the sealed value
    assert CLEAR not in caplog.text and TOKEN not in caplog.text
    at_rest = await stored_settings(app, "up")
    assert at_rest["password"].startswith("enc:") and CLEAR not in json.dumps(at_rest)
    assert at_rest["receipt_token"].startswith("enc:") and at_rest["username"] == "u"
    # Merging a change kept the sealed value, and the transport gets the clear one.
    async with app.state.runtime.engine.connect() as conn:
        connector = await store.get_connector(conn, "up")
    runtime = app.state.runtime
    transport = build(connector, runtime.settings, TRANSPORTS, runtime.files)
    try:
        header = transport._client.auth._auth_header  # type: ignore[attr-defined]
        assert base64.b64decode(header.split()[1]).decode() == f"u:{CLEAR}"
    finally:
        await transport.close()


async def test_a_password_typed_with_the_seal_prefix_is_sealed_and_reaches_the_upstream(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    typed = "enc:" + CLEAR
    settings = {"url": "http://127.0.0.1:9", "username": "u", "password": typed}
    response = await client.post(
        "/dovecote/connectors", json={"name": "odd", "transport": "http", "settings": settings}
    )
    assert response.status_code == 200, response.text
    changed = await client.patch("/dovecote/connectors/odd", json={"settings": {"batch": 10}})
    assert changed.status_code == 200
    at_rest = await stored_settings(app, "odd")
    assert at_rest["password"] != typed and CLEAR not in json.dumps(at_rest)
    async with app.state.runtime.engine.connect() as conn:
        connector = await store.get_connector(conn, "odd")
    runtime = app.state.runtime
    transport = build(connector, runtime.settings, TRANSPORTS, runtime.files)
    try:
        header = transport._client.auth._auth_header  # type: ignore[attr-defined]
        assert base64.b64decode(header.split()[1]).decode() == f"u:{typed}"
    finally:
        await transport.close()


async def test_start_up_seals_clear_secrets_and_moves_old_key_ones_to_the_new_key(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings
) -> None:
    await add(client, "old")
    engine = app.state.runtime.engine
    async with engine.begin() as conn:  # as written before sealing existed
        clear = {"url": "http://127.0.0.1:9", "username": "u", "password": CLEAR}
        await conn.execute(
            connectors.insert().values(
                name="legacy",
                transport="http",
                settings=clear,
                throughput=0,
                enabled=True,
                created_at=0,
                updated_at=0,
            )
        )
    await start_up_again(app, secret_key="the-new-key", previous=settings.secret_key)
    only_new = store.sealer(settings.model_copy(update={"secret_key": "the-new-key"}))
    for name in ("old", "legacy"):
        at_rest = await stored_settings(app, name)
        assert at_rest["password"].startswith("enc:")
        assert only_new.open(at_rest["password"]) == CLEAR  # no previous key needed now


async def test_an_empty_secret_key_refuses_to_store_a_connector_secret(
    app: FastAPI, settings: Settings
) -> None:
    empty = settings.model_copy(update={"secret_key": ""})
    with pytest.raises(Exception, match="DOVECOTE_SECRET_KEY"):
        store.sealer(empty)


async def test_a_secret_no_configured_key_opens_stops_its_connector_not_the_start_up(
    app: FastAPI, client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    """The key changed without DOVECOTE_SECRET_KEY_PREVIOUS: start-up logs the connector
    and goes on (docs/delivery.md), leaving what it cannot open as it was stored."""
    await add(client, "old")
    before = await stored_settings(app, "old")
    await start_up_again(app, secret_key="another-key")  # DOVECOTE_SECRET_KEY_PREVIOUS empty

    assert await stored_settings(app, "old") == before
    assert any("connector 'old'" in record.getMessage() for record in caplog.records)
