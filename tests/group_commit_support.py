"""Helpers for tests of single sends through the group commit: a send, its answer, and a
writer held so that a batch is exactly the units a test queued.

Importable as `group_commit_support` because pyproject's `pythonpath` puts `tests/` on
sys.path.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncConnection

from dovecote.storage.group_commit import GroupCommit


def us(n: int) -> str:
    return f"+1202555{n:04d}"


def send(client: httpx.AsyncClient, n: int) -> Coroutine[Any, Any, httpx.Response]:
    return client.post("/v3/sms/send", json={"messages": [{"to": us(n), "body": f"Group {n}"}]})


def status(response: httpx.Response) -> str:
    return str(response.json()["data"]["messages"][0]["status"])


def writer(app: FastAPI) -> GroupCommit:
    group: GroupCommit = app.state.runtime.writer
    return group


@asynccontextmanager
async def held(app: FastAPI) -> AsyncIterator[asyncio.Event]:
    """The writer busy on a unit that waits for the gate: whatever is submitted meanwhile
    forms the next batch, all of it."""
    gate, running = asyncio.Event(), asyncio.Event()

    async def wait(_conn: AsyncConnection) -> None:
        running.set()
        await gate.wait()

    holder = asyncio.create_task(writer(app).run(wait))
    await running.wait()  # in its own batch: what comes next waits for the one after
    try:
        yield gate
    finally:
        gate.set()
        await holder
