"""Helpers for the SMS read-side tests: rows as the queue writes them, callers, a webhook peer;
and a run of the SMS and MMS campaign job.

Importable as `sms_support` because pyproject's `pythonpath` puts `tests/` on sys.path.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

import clicksend
import httpx
import sqlalchemy as sa
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

import http_peer
from dovecote.accounts import service as accounts
from dovecote.campaigns.fanout import run_due_campaigns
from dovecote.core.ids import new_id
from dovecote.pipeline import status as st
from dovecote.settings import Settings
from dovecote.storage.db import create_engine

T0 = 1_700_000_000  # a fixed "now" for rows, so date filters are exact


@dataclass(frozen=True)
class Caller:
    """A user able to call the API: its ids and an authenticated client."""

    account_id: int
    user_id: int
    username: str
    api_key: str


def sms(account_id: int, user_id: int, **values: Any) -> dict[str, Any]:
    """An outbound SMS row as the sending code leaves it; `values` override."""
    created = values.pop("created_at", T0)
    return {
        "id": new_id(),
        "account_id": account_id,
        "user_id": user_id,
        "channel": "sms",
        "direction": "out",
        "sender": "Dovecote",
        "recipient": "+61411111111",
        "country": "AU",
        "body": "Hello there",
        "parts": 1,
        "price_micros": 77_000,
        "status": st.DELIVERED,
        "status_code": "201",
        "status_text": "Delivered",
        "created_at": created,
        "updated_at": created,
        "sent_at": created,
        # Every row carries every key: one executemany needs one shape.
        "custom_string": None,
        "schedule": None,
        "list_id": None,
        "from_email": None,
        "original_message_id": None,
        "read_at": None,
        **values,
    }


def reply(account_id: int, user_id: int, **values: Any) -> dict[str, Any]:
    """An inbound SMS row; `values` override."""
    return sms(
        account_id,
        user_id,
        **{
            "direction": "in",
            "sender": "+61411111111",
            "recipient": "+61400000000",
            "status": st.RECEIVED,
            "price_micros": 0,
            "status_code": None,
            "status_text": None,
            "sent_at": None,
            **values,
        },
    )


def receipt(message: dict[str, Any], **data: Any) -> dict[str, Any]:
    """A `receipt` event for `message`, as the dispatcher writes it; `data` overrides."""
    at = data.pop("occurred_at", message["created_at"] + 5)
    return {
        "message_id": message["id"],
        "account_id": message["account_id"],
        "user_id": message["user_id"],
        "channel": "sms",
        "type": "receipt",
        "occurred_at": float(at),
        "data": {
            "status_code": 201,
            "status_text": "Delivered",
            "error_code": None,
            "error_text": None,
            "timestamp_send": message["created_at"],
            "timestamp": int(at),
            "custom_string": message.get("custom_string"),
            "message_type": "sms",
            "subaccount_id": message["user_id"],
            **data,
        },
    }


async def insert(engine: AsyncEngine, table: sa.Table, *rows: dict[str, Any]) -> None:
    async with engine.begin() as conn:
        await conn.execute(table.insert(), list(rows))


async def insert_into(database_url: str, table: sa.Table, *rows: dict[str, Any]) -> None:
    """For live-server tests, whose app and engine live in another thread."""
    engine = create_engine(database_url)
    try:
        await insert(engine, table, *rows)
    finally:
        await engine.dispose()


async def owner(client: httpx.AsyncClient, settings: Settings) -> Caller:
    data = (await client.get("/v3/account")).json()["data"]
    assert settings.owner_username and settings.owner_api_key
    return Caller(data["account"], data["user_id"], settings.owner_username, settings.owner_api_key)


async def subaccount(
    client: httpx.AsyncClient, owner: Caller, name: str, *, reporting: bool
) -> Caller:
    response = await client.post(
        "/v3/subaccounts",
        json={
            "api_username": name,
            "password": "a-long-password",
            "email": f"{name}@example.com",
            "phone_number": "+61411111111",
            "first_name": name,
            "last_name": "Sub",
            "access_reporting": int(reporting),
        },
    )
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    return Caller(owner.account_id, data["subaccount_id"], name, data["api_key"])


async def other_account(engine: AsyncEngine, name: str = "stranger") -> Caller:
    async with engine.begin() as conn:
        created = await accounts.create_account(conn, username=name, balance_micros=10_000_000)
    return Caller(created.account.id, created.user.id, name, created.api_key)


def as_caller(app: FastAPI, caller: Caller) -> httpx.AsyncClient:
    """A client of `app` authenticated as `caller` (use it in `async with`)."""
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://testserver",
        auth=(caller.username, caller.api_key),
    )


async def fan_out(app: FastAPI, **options: Any) -> int:
    """One run of the SMS and MMS campaign job on the app's runtime; `options` (now,
    batch, owner, stop_after, …) as `run_due_campaigns` takes them. How many it claimed."""
    runtime = app.state.runtime
    return await run_due_campaigns(
        runtime.engine, runtime.settings, runtime.events, runtime.prices, **options
    )


def sdk(url: str, settings: Settings) -> clicksend.ApiClient:
    config = clicksend.Configuration(
        host=url, username=settings.owner_username, password=settings.owner_api_key
    )
    return clicksend.ApiClient(config)


# --- a real HTTP peer for webhooks ----------------------------------------------------


@dataclass
class Peer:
    """A loopback HTTP server recording each POST; answers `status` (after `delay` s)."""

    url: str
    status: int = 200
    delay: float = 0.0
    requests: list[dict[str, Any]] = field(default_factory=list)


@contextmanager
def webhook_peer() -> Iterator[Peer]:
    peer = Peer(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", "0"))
            raw = self.rfile.read(length)
            peer.requests.append(
                {
                    "path": self.path,
                    "content_type": self.headers.get("content-type", ""),
                    "json": json.loads(raw) if raw else None,
                }
            )
            if peer.delay:
                threading.Event().wait(peer.delay)
            try:
                self.send_response(peer.status)
                self.send_header("content-length", "2")
                self.end_headers()
                self.wfile.write(b"ok")
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up waiting (the timeout test): nothing to answer

        def log_message(self, format: str, *args: Any) -> None:
            return None

    with http_peer.serve(Handler) as base:
        peer.url = f"{base}/hook"
        yield peer


async def dribble(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """An asyncio server callback: a webhook receiver that answers one byte every 0.2 s,
    so no single read ever times out while the whole answer never comes."""
    await reader.read(65536)
    try:
        writer.write(b"HTTP/1.1 200 OK\r\n")
        for _ in range(100):
            writer.write(b"X")
            await writer.drain()
            await asyncio.sleep(0.2)
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        writer.close()
