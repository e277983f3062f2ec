"""Helpers for the reseller tests: make an account a reseller (as the operator does),
create accounts and clients, log in as them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml  # type: ignore[import-untyped]
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from dovecote import account_options
from dovecote.accounts.service import create_account, parse_money
from dovecote.settings import Settings


@dataclass(frozen=True)
class Login:
    username: str
    api_key: str
    user_id: int
    account_id: int


async def make_reseller(engine: AsyncEngine, username: str, settings: Settings) -> None:
    """What `dovecote accounts set NAME reseller=true` does."""
    async with engine.begin() as conn:
        await account_options.set_options(conn, username, {"reseller": True}, settings)


async def new_account(engine: AsyncEngine, username: str, balance: str = "0") -> Login:
    async with engine.begin() as conn:
        created = await create_account(
            conn,
            username=username,
            email=f"{username}@example.com",
            balance_micros=parse_money(balance),
        )
    return Login(username, created.api_key, created.user.id, created.account.id)


async def new_reseller(app: FastAPI, username: str, balance: str = "100") -> Login:
    runtime = app.state.runtime
    login = await new_account(runtime.engine, username, balance)
    await make_reseller(runtime.engine, username, runtime.settings)
    return login


def client_body(username: str, **extra: Any) -> dict[str, Any]:
    return {
        "username": username,
        "password": "client-password-1",
        "user_email": f"{username}@client.example",
        "user_phone": "+61411111111",
        "user_first_name": "Client",
        "user_last_name": username.title(),
        "account_name": f"{username} Pty Ltd",
        "country": "AU",
        **extra,
    }


async def create_client(http: httpx.AsyncClient, username: str, **extra: Any) -> Login:
    response = await http.post("/v3/reseller/accounts", json=client_body(username, **extra))
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    return Login(username, data["_subaccount"]["api_key"], data["user_id"], data["account"])


@asynccontextmanager
async def login(app: FastAPI, who: Login) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://testserver", auth=(who.username, who.api_key)
    ) as http:
        yield http


async def balance_of(http: httpx.AsyncClient) -> str:
    response = await http.get("/v3/account")
    assert response.status_code == 200, response.text
    balance: str = response.json()["data"]["balance"]
    return balance


# The reference beside the checkout, as tests/test_contract.py finds it.
SPEC = Path(__file__).resolve().parents[2] / "shared" / "reference" / "clicksend-v3.openapi.yaml"


def spec_example(path: str, method: str) -> Any:
    """The `data` of the spec's example answer of an operation."""
    spec = yaml.safe_load(SPEC.read_text())
    content = spec["paths"][path][method]["responses"]["200"]["content"]["application/json"]
    return content["examples"]["response"]["value"]["data"]
