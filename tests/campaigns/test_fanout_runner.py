"""`campaigns.fanout.run_due`: the one campaign runner, with a batch builder of the
test's own (as SMS, MMS and email plug theirs in)."""

from __future__ import annotations

import time
from collections.abc import Sequence

import httpx
import sqlalchemy as sa
from fastapi import FastAPI
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from contacts_support import add, new_list
from dovecote.campaigns import fanout
from dovecote.contacts.service import Contact
from dovecote.core.errors import DomainError
from dovecote.core.models import Principal
from dovecote.storage.tables import sms_campaigns


class Recorder:
    """A builder that records each batch's contacts, or refuses them like an empty balance."""

    def __init__(self, *, refuse: bool = False) -> None:
        self.batches: list[list[str | None]] = []
        self.refuse = refuse

    async def __call__(self, engine: AsyncEngine, row: RowMapping) -> fanout.Batch:
        async def run_batch(
            conn: AsyncConnection, principal: Principal, contacts: Sequence[Contact], now: float
        ) -> fanout.Tally:
            if self.refuse:
                raise DomainError("Not enough credit.")
            self.batches.append([contact.fields["first_name"] for contact in contacts])
            return fanout.Tally(queued=len(contacts), opted_out=0, refused=1, price_micros=10)

        return run_batch


async def campaign(app: FastAPI, client: httpx.AsyncClient, count: int) -> int:
    list_id = await new_list(client)
    for n in range(count):
        await add(client, list_id, phone_number=f"+1415{2000000 + n}", first_name=f"P{n}")
    body = {"list_id": list_id, "name": "Five", "from": "Dovecote", "body": "Hi"}
    sent = await client.post("/v3/sms-campaigns/send", json=body)
    return int(sent.json()["data"]["sms_campaign_id"])


async def row_of(app: FastAPI, campaign_id: int) -> RowMapping:
    async with app.state.runtime.engine.connect() as conn:
        query = sa.select(sms_campaigns).where(sms_campaigns.c.id == campaign_id)
        row: RowMapping = (await conn.execute(query)).mappings().one()
    return row


async def test_the_runner_feeds_every_contact_once_in_batches_and_keeps_the_tallies(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    campaign_id = await campaign(app, client, 5)
    recorder = Recorder()
    kind = fanout.Campaigns(table=sms_campaigns, label="Test campaign", builder=recorder)

    assert await fanout.run_due(app.state.runtime.engine, kind, batch=2) == 1

    assert recorder.batches == [["P0", "P1"], ["P2", "P3"], ["P4"]]
    row = await row_of(app, campaign_id)
    assert (row["status"], row["queued"], row["refused"], row["price_micros"]) == (
        "Sent", 5, 3, 30,
    )  # fmt: skip
    assert row["lease_owner"] is None and row["due_at"] is None


async def test_a_batch_refused_by_the_domain_rolls_back_and_the_campaign_waits(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    campaign_id = await campaign(app, client, 3)
    kind = fanout.Campaigns(
        table=sms_campaigns, label="Test campaign", builder=Recorder(refuse=True)
    )
    before = time.time()

    assert await fanout.run_due(app.state.runtime.engine, kind, batch=2) == 1

    row = await row_of(app, campaign_id)
    assert (row["status"], row["queued"], row["cursor"], row["lease_owner"]) == (
        "Sending", 0, 0, None,
    )  # fmt: skip
    assert row["due_at"] >= before + fanout.RETRY
