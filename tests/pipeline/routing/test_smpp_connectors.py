"""The smpp transport as connectors: two carriers with their own settings, one route.

Carrier A's SMSC refuses our password, so A never binds; its messages fail over to
carrier B, whose receipts (pushed as `deliver_sm`) settle them through the router.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from dovecote.pipeline import status as st
from dovecote.storage.tables import message_connectors, messages
from routing_support import driven_worker, until
from smsc_support import Smsc


@pytest.fixture
def carriers() -> Iterator[tuple[Smsc, Smsc]]:
    with Smsc(password="right").running() as first, Smsc(password="other").running() as second:
        yield first, second


def carrier(name: str, smsc: Smsc, password: str) -> dict[str, Any]:
    return {
        "name": name,
        "transport": "smpp",
        "settings": {
            "host": "127.0.0.1",
            "port": smsc.port,
            "system_id": "dovecote",
            "password": password,
            "bind_wait": 0.5,
            "reconnect_min": 0.05,
        },
    }


async def test_a_carrier_that_cannot_bind_fails_over_to_the_next_and_receipts_come_back(
    app: Any, client: httpx.AsyncClient, carriers: tuple[Smsc, Smsc]
) -> None:
    first, second = carriers
    second.auto_receipts("DELIVRD")
    for body in (carrier("carrier-a", first, "wrong"), carrier("carrier-b", second, "other")):
        assert (await client.post("/dovecote/connectors", json=body)).status_code == 200
    route = {"connectors": ["carrier-a", "carrier-b"], "channel": "sms"}
    assert (await client.post("/dovecote/routes", json=route)).status_code == 200
    recipients = [f"+6141133{n:04d}" for n in range(4)]
    response = await client.post(
        "/v3/sms/send", json={"messages": [{"to": to, "body": "via B"} for to in recipients]}
    )
    ids = [m["message_id"] for m in response.json()["data"]["messages"]]

    engine = app.state.runtime.engine

    async def statuses() -> dict[str, tuple[str, str | None]]:
        async with engine.connect() as conn:
            rows = await conn.execute(
                sa.select(messages.c.id, messages.c.status, message_connectors.c.connector)
                .select_from(
                    messages.outerjoin(
                        message_connectors, message_connectors.c.message_id == messages.c.id
                    )
                )
                .where(messages.c.id.in_(ids))
            )
            return {m: (s, c) for m, s, c in rows}

    async def all_delivered() -> bool:
        return {s for s, _ in (await statuses()).values()} == {st.DELIVERED}

    async with driven_worker(app) as worker:
        await worker.dispatcher.run_once()
        await until(all_delivered, worker)
    assert {c for _, c in (await statuses()).values()} == {"carrier-b"}
    assert sorted(s.destination.number for s in second.submitted) == [
        r.lstrip("+") for r in recipients
    ]
    assert first.submitted == [] and first.refused_binds >= 1
