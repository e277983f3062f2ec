"""MMS, fax, voice and email routed over the `http` transport to a second Dovecote: each
message reaches the upstream's history exactly once, with the file it fetched through our
signed link (or the attachment it was given inline), and the upstream's receipt (polled,
or pushed for email) settles ours."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from conftest import OWNER
from dovecote.accounts import store as account_store
from dovecote.app import create_app
from dovecote.pipeline import status as st
from dovecote.pipeline.transports.base import Job
from dovecote.pipeline.transports.http import receipts
from dovecote.pipeline.transports.http.transport import HttpTransport
from dovecote.settings import Settings
from dovecote.storage.db import create_engine
from dovecote.storage.tables import message_connectors, message_payloads, messages
from email_support import add_address
from fax_support import pdf
from fetch_support import FileServer, file_server
from media_support import image
from routing_support import (
    PEER_KEY,
    Served,
    app_under_test,
    driven_worker,
    ok,
    owner_client,
    peer,
    peer_database,
    peer_settings,
    until,
    upstream_history,
)

TOKEN = "rcpt-0F4C2B9A7E6D5310"


@pytest.fixture
def upstream_db(request: pytest.FixtureRequest, database_url: str, tmp_path: Path) -> Iterator[str]:
    yield from peer_database(request, database_url, tmp_path)


@pytest.fixture
def upstream(upstream_db: str, tmp_path: Path) -> Iterator[Served]:
    # It fetches our links and POSTs its receipts to us on loopback; its own secret, so
    # our links are not its own.
    tuned = peer_settings(
        upstream_db, tmp_path, fetch_allow_private=True, secret_key="the-upstream's-own-secret"
    )
    with peer(tuned) as served:
        yield served


@pytest.fixture
def files() -> Iterator[FileServer]:
    with file_server() as server:
        yield server


@pytest.fixture
def api_a(settings: Settings) -> Iterator[Served]:
    """A's API as a process the upstream can reach: it serves the signed file links."""
    with Served(create_app(settings)) as served:
        yield served


@pytest.fixture
async def app_a(settings: Settings, api_a: Served) -> AsyncIterator[FastAPI]:
    async with app_under_test(
        settings,
        fetch_allow_private=True,  # the test's file server is on loopback
        public_url=api_a.url,  # the base of the links the upstream fetches
    ) as application:
        yield application


@pytest.fixture
async def client_a(app_a: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with owner_client(app_a) as http:
        yield http


async def stored(app: FastAPI, message_id: str) -> dict[str, Any]:
    async with app.state.runtime.engine.connect() as conn:
        row = (
            (await conn.execute(sa.select(messages).where(messages.c.id == message_id)))
            .mappings()
            .one()
        )
        taken = (
            await conn.execute(
                sa.select(message_connectors.c.connector).where(
                    message_connectors.c.message_id == message_id
                )
            )
        ).scalar()
    return {**row, "connector": taken}


async def test_mms_fax_and_voice_go_to_the_upstream_once_and_its_receipts_settle_them(
    app_a: FastAPI, client_a: httpx.AsyncClient, upstream: Served, files: FileServer
) -> None:
    settings = {"url": upstream.url, "username": OWNER, "password": PEER_KEY, "poll": 0}
    await ok(
        client_a,
        "/dovecote/connectors",
        {"name": "peer", "transport": "http", "settings": settings},
    )
    for channel in ("mms", "fax", "voice"):
        await ok(client_a, "/dovecote/routes", {"channel": channel, "connectors": ["peer"]})
    picture = image("JPEG")
    mms = await ok(
        client_a,
        "/v3/mms/send",
        {
            "media_file": files.serve("/cat.jpg", picture, "image/jpeg"),
            "messages": [
                {"to": "+61411000001", "subject": "Cat", "body": "Look"},
                {"to": "+61411000002", "subject": "Cat", "body": "Look again"},
            ],
        },
    )
    fax = await ok(
        client_a,
        "/v3/fax/send",
        {
            "file_url": files.serve("/two.pdf", pdf(2), "application/pdf"),
            "messages": [{"to": "+61298765432"}],
        },
    )
    voice = await ok(
        client_a,
        "/v3/voice/send",
        {"messages": [{"to": "+61411000003", "body": "Your code is 1 2 3", "voice": "male"}]},
    )
    ids = [m["message_id"] for data in (mms, fax, voice) for m in data["messages"]]
    assert len(ids) == 4

    async with driven_worker(app_a) as worker:

        async def settled() -> bool:
            rows = [await stored(app_a, message_id) for message_id in ids]
            return all(r["status"] == st.DELIVERED for r in rows)

        await until(settled, worker, within=60)
    rows = [await stored(app_a, message_id) for message_id in ids]
    assert {r["connector"] for r in rows} == {"peer"}
    assert {r["status_code"] for r in rows} == {"201"}

    remote_mms = await upstream_history(upstream, "mms")
    assert sorted(m["to"] for m in remote_mms) == ["+61411000001", "+61411000002"]
    assert {m["message_id"] for m in remote_mms} == {r["transport_ref"] for r in rows[:2]}
    assert {m["subject"] for m in remote_mms} == {"Cat"}
    # The upstream fetched the very picture through our signed link and stored it.
    async with httpx.AsyncClient() as http:
        fetched = await http.get(remote_mms[0]["_media_file_url"])
    assert fetched.status_code == 200 and fetched.content == picture
    [remote_fax] = await upstream_history(upstream, "fax")
    assert remote_fax["to"] == "+61298765432" and int(remote_fax["message_pages"]) == 2
    [remote_voice] = await upstream_history(upstream, "voice")
    assert remote_voice["to"] == "+61411000003" and remote_voice["voice"] == "male"
    assert remote_voice["body"] == "Your code is 1 2 3"


async def verified_sender(engine: AsyncEngine, address: str) -> int:
    """The owner's verified sender address (as the verification flow leaves it)."""
    async with engine.connect() as conn:
        user = await account_store.get_user_by_username(conn, OWNER)
    assert user is not None
    return await add_address(engine, user.account_id, user.id, address)


async def test_an_email_goes_to_the_upstream_once_with_its_attachment_and_its_pushed_receipt_settles_it(
    app_a: FastAPI,
    api_a: Served,
    client_a: httpx.AsyncClient,
    upstream: Served,
    upstream_db: str,
) -> None:
    peer_engine = create_engine(upstream_db)
    try:
        theirs = await verified_sender(peer_engine, "relay@upstream.example")
    finally:
        await peer_engine.dispose()
    ours = await verified_sender(app_a.state.runtime.engine, "me@example.com")
    settings = {
        "url": upstream.url,
        "username": OWNER,
        "password": PEER_KEY,
        "receipts": "push",
        "receipt_token": TOKEN,
        "email_address_id": theirs,
    }
    await ok(
        client_a,
        "/dovecote/connectors",
        {"name": "peer", "transport": "http", "settings": settings},
    )
    await ok(client_a, "/dovecote/routes", {"channel": "email", "connectors": ["peer"]})
    async with httpx.AsyncClient(base_url=upstream.url, auth=(OWNER, PEER_KEY)) as http:
        rule = {
            "rule_name": "receipts downstream",
            "match_type": 0,
            "action": "URL",
            "action_address": f"{api_a.url}/dovecote/providers/peer/receipts/{TOKEN}",
            "enabled": 1,
        }
        await ok(http, "/v3/automations/email/receipts", rule)
    attachment = b"%PDF-1.4 not really a PDF, but bytes to carry"
    sent = await ok(
        client_a,
        "/v3/email/send",
        {
            "to": [{"email": "reader@example.org", "name": "Reader"}],
            "from": {"email_address_id": ours, "name": "Me"},
            "subject": "Quarterly report",
            "body": "<p>Attached.</p>",
            "attachments": [
                {
                    "content": base64.b64encode(attachment).decode(),
                    "type": "application/pdf",
                    "filename": "report.pdf",
                    "disposition": "attachment",
                }
            ],
        },
    )
    message_id = str(sent["message_id"])

    async with driven_worker(app_a) as worker:
        await worker.dispatcher.run_once()
        assert (await stored(app_a, message_id))["status"] == st.SENT
        pushed = worker.dispatcher.pushed()

        async def delivered() -> bool:
            await receipts.apply_pending(pushed)
            return bool((await stored(app_a, message_id))["status"] == st.DELIVERED)

        await until(delivered, within=60)
    row = await stored(app_a, message_id)
    assert row["connector"] == "peer"
    [remote] = await upstream_history(upstream, "email")
    assert remote["message_id"] == row["transport_ref"]
    assert [t["email"] for t in remote["to"]] == ["reader@example.org"]
    assert remote["subject"] == "Quarterly report" and remote["body"] == "<p>Attached.</p>"
    assert remote["from_email_address_id"] == theirs
    [carried] = remote["_attachments"]
    assert carried["file_name"] == "report.pdf" and carried["content_type"] == "application/pdf"
    peer_engine = create_engine(upstream_db)
    try:  # the very bytes: the upstream's own record of what it was given
        async with peer_engine.connect() as conn:
            query = sa.select(message_payloads.c.payload).where(
                message_payloads.c.message_id == remote["message_id"]
            )
            kept = (await conn.execute(query)).scalar_one()
    finally:
        await peer_engine.dispose()
    assert [a["size"] for a in kept["attachments"]] == [len(attachment)]


def job(number: int, channel: str) -> Job:
    return Job(
        id=f"m{number}",
        account_id=1,
        user_id=1,
        channel=channel,
        sender="",
        recipient="+61411000009",
        subject=None,
        body="b",
        attempts=0,
        custom_string=None,
        created_at=0,
        sent_at=None,
        transport_ref=None,
    )


async def test_post_and_email_or_mms_without_what_they_need_fail_with_the_reason(
    app_a: FastAPI, upstream: Served
) -> None:
    transport = HttpTransport.from_connector(
        app_a.state.runtime.settings,
        "peer",
        {"url": upstream.url, "username": OWNER, "password": PEER_KEY},
    )
    # No email_address_id on the connector; the MMS has no payload, so no media.
    channels = ("email", "post", "postcards", "mms")
    try:
        outcomes = await transport.send([job(n, c) for n, c in enumerate(channels)])
    finally:
        await transport.close()
    assert [o.kind for o in outcomes] == ["failed"] * 4
    assert "email_address_id" in (outcomes[0].error_text or "")
    assert "does not carry post" in (outcomes[1].error_text or "")
    assert "no stored file" in (outcomes[3].error_text or "")
    assert await upstream_history(upstream, "mms") == []
