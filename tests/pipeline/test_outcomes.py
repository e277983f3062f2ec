"""Outcomes that arrive out of band: `apply_outcome`, as an SMPP receipt would use it."""

from __future__ import annotations

from collections.abc import Sequence

import httpx
import sqlalchemy as sa
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from dispatch_support import dispatcher
from dovecote import wiring
from dovecote.pipeline.outcomes import Retry, apply_outcome
from dovecote.pipeline.transports.base import Job, Outcome
from dovecote.settings import Settings
from dovecote.storage.tables import events, messages


class PushingCarrier:
    """Accepts every message and never settles: its receipts come later, pushed."""

    name = "carrier"

    async def send(self, jobs: Sequence[Job]) -> Sequence[Outcome]:
        return [Outcome("sent", transport_ref=f"smsc-{job.id[:8]}") for job in jobs]

    async def settle(self, jobs: Sequence[Job]) -> Sequence[Outcome]:
        raise AssertionError("a pushing carrier is never asked to settle")

    async def close(self) -> None:
        return None


async def sent_sms(client: httpx.AsyncClient, app: FastAPI, settings: Settings) -> str:
    response = await client.post(
        "/v3/sms/send", json={"messages": [{"to": "+12025550147", "body": "Hello"}]}
    )
    [message] = response.json()["data"]["messages"]
    carrier = PushingCarrier()
    assert await dispatcher(app.state.runtime.engine, settings, {"default": carrier}).run_once()
    return str(message["message_id"])


async def receipt(app: FastAPI, message_id: str, outcome: Outcome) -> bool:
    async with app.state.runtime.engine.begin() as conn:
        return await apply_outcome(
            conn,
            message_id,
            outcome,
            channels={channel.name: channel for channel in wiring.CHANNELS},
            retry=Retry(max_attempts=5, backoff_base=2),
            events=app.state.runtime.events,
        )


async def state(engine: AsyncEngine, message_id: str) -> tuple[str, list[tuple[str, object]]]:
    async with engine.connect() as conn:
        status = (
            await conn.execute(sa.select(messages.c.status).where(messages.c.id == message_id))
        ).scalar_one()
        rows = await conn.execute(
            sa.select(events.c.type, events.c.data)
            .where(events.c.message_id == message_id)
            .order_by(events.c.id)
        )
        return str(status), [(kind, data.get("status_code")) for kind, data in rows]


async def test_a_pushed_receipt_delivers_a_sent_message_once(
    client: httpx.AsyncClient, app: FastAPI, settings: Settings
) -> None:
    engine = app.state.runtime.engine
    message_id = await sent_sms(client, app, settings)
    assert await state(engine, message_id) == ("sent", [("queued", None), ("sent", None)])

    assert await receipt(app, message_id, Outcome("delivered")) is True
    # The carrier repeats itself: a duplicate receipt changes nothing.
    assert await receipt(app, message_id, Outcome("failed", error_code=300)) is False

    assert await state(engine, message_id) == (
        "delivered",
        [("queued", None), ("sent", None), ("receipt", 201)],
    )
    receipts = await client.get(f"/v3/sms/receipts/{message_id}")
    assert receipts.json()["data"]["status_code"] == 201


async def test_a_receipt_for_an_unknown_message_writes_nothing(app: FastAPI) -> None:
    engine = app.state.runtime.engine
    assert await receipt(app, "0" * 36, Outcome("delivered")) is False
    async with engine.connect() as conn:
        assert (await conn.execute(sa.select(sa.func.count()).select_from(events))).scalar() == 0
