"""An SMS campaign to 20,000 contacts fanned out by two real `dovecote worker` processes on
PostgreSQL, the one holding the campaign SIGKILLed mid-fan-out: the other resumes after
the lease, every contact gets exactly one message, and the charge equals the price."""

from __future__ import annotations

import asyncio
import signal
import time
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from conftest import CHEAP_HASHING
from dovecote import bootstrap, wiring
from dovecote.accounts import service as account_service
from dovecote.campaigns import sms as sms_campaigns
from dovecote.campaigns import store as campaign_store
from dovecote.contacts import service as contacts
from dovecote.contacts import store as contact_store
from dovecote.pipeline.pricing import PriceBook
from dovecote.settings import Settings
from dovecote.storage.tables import accounts, messages
from dovecote.storage.tables import sms_campaigns as sc
from worker_support import pg_database_url, query, start_worker, stop, wait_until

__all__ = ["pg_database_url"]  # a fixture, used by name

OWNER, OWNER_KEY = "owner", "0C0FFEE0-1234-4ABC-8DEF-000000000002"
CONTACTS = 20_000
LEASE = 3  # seconds: how long the killed worker's campaign waits for the survivor


@dataclass(frozen=True)
class Seeded:
    campaign_id: int
    numbers: set[str]
    price_micros: int
    balance_micros: int
    account_id: int


def seed(database_url: str) -> Seeded:
    """The owner, a list of CONTACTS numbers, its price, and the campaign sent (queued)."""

    async def run() -> Seeded:
        settings = Settings(
            database_url=database_url,
            owner_username=OWNER,
            owner_api_key=OWNER_KEY,
            owner_balance="100000.00",
            worker_enabled=False,
            **CHEAP_HASHING,
        )
        runtime = wiring.build_runtime(settings)
        try:
            await bootstrap.prepare(runtime)
            engine = runtime.engine
            async with engine.begin() as conn:
                principal = await account_service.authenticate_basic(conn, OWNER, OWNER_KEY)
                listed = await contacts.create_list(conn, principal, "Everyone")
                now = int(time.time())
                numbers = [f"+1415{2_000_000 + n:07d}" for n in range(CONTACTS)]
                # One statement, as an import writes them (an executemany is a round
                # trip's work per row on PostgreSQL: ~2 s for these).
                await contact_store.insert_contacts(
                    conn,
                    [
                        {
                            "account_id": principal.account.id,
                            "list_id": listed.id,
                            "phone_number": number,
                            "first_name": f"C{n}",
                            "created_at": now,
                            "updated_at": now,
                        }
                        for n, number in enumerate(numbers)
                    ],
                )
            body = {"list_id": listed.id, "name": "Load", "body": "Hi {first_name}"}
            async with engine.connect() as conn:
                priced = await sms_campaigns.price(
                    conn, principal, PriceBook.load(settings.prices_file), body
                )
            async with engine.begin() as conn:
                campaign = await sms_campaigns.send(conn, principal, body, ip=None)
                balance = (
                    await conn.execute(
                        sa.select(accounts.c.balance_micros).where(
                            accounts.c.id == principal.account.id
                        )
                    )
                ).scalar_one()
            assert priced.count == CONTACTS
            return Seeded(
                int(campaign["id"]),
                set(numbers),
                priced.total_micros,
                int(balance),
                principal.account.id,
            )
        finally:
            await runtime.close()

    return asyncio.run(run())


def campaign_state(database_url: str, campaign_id: int) -> tuple[str, int, int, str | None]:
    [(status, cursor, bound, owner)] = query(
        database_url,
        sa.select(sc.c.status, sc.c.cursor, sc.c.max_contact_id, sc.c.lease_owner).where(
            sc.c.id == campaign_id
        ),
    )
    return str(status), int(str(cursor)), int(str(bound)), None if owner is None else str(owner)


def test_two_workers_one_killed_mid_fan_out_reach_every_contact_exactly_once(
    pg_database_url: str, tmp_path: Path
) -> None:
    seeded = seed(pg_database_url)
    workers = [
        start_worker(pg_database_url, tmp_path / f"worker-{n}.log", campaign_lease_seconds=LEASE)
        for n in range(2)
    ]
    try:
        # Mid-fan-out: at least one batch committed, the last not yet.
        deadline = time.monotonic() + 90
        while True:
            status, cursor, bound, owner = campaign_state(pg_database_url, seeded.campaign_id)
            if status == campaign_store.SENDING and 0 < cursor < bound and owner:
                break
            assert status != campaign_store.SENT, "the fan-out finished before it could be cut"
            assert time.monotonic() < deadline, "the fan-out never started"
            time.sleep(0.02)
        holder = next(w for w in workers if f":{w.process.pid}:" in owner)
        holder.process.send_signal(signal.SIGKILL)
        holder.process.wait(timeout=10)
        assert holder.process.returncode == -signal.SIGKILL
        survivor = next(w for w in workers if w is not holder)

        finished = sa.select(sa.func.count()).where(
            sc.c.id == seeded.campaign_id, sc.c.status == campaign_store.SENT
        )
        wait_until(pg_database_url, finished, 1, [survivor], timeout=120)
    finally:
        stop(workers)

    tag = campaign_store.source_tag(seeded.campaign_id)
    per_recipient = query(
        pg_database_url,
        sa.select(messages.c.recipient, sa.func.count(), sa.func.sum(messages.c.price_micros))
        .where(messages.c.source == tag)
        .group_by(messages.c.recipient),
    )
    counts = {str(recipient): int(str(n)) for recipient, n, _ in per_recipient}
    assert set(counts) == seeded.numbers, "a contact got no message"
    assert set(counts.values()) == {1}, "a contact got two messages"
    charged = sum(int(str(price)) for _, _, price in per_recipient)
    assert charged == seeded.price_micros
    [(balance,)] = query(
        pg_database_url,
        sa.select(accounts.c.balance_micros).where(accounts.c.id == seeded.account_id),
    )
    assert seeded.balance_micros - int(str(balance)) == seeded.price_micros
    [(queued, attempts)] = query(
        pg_database_url,
        sa.select(sc.c.queued, sc.c.attempts).where(sc.c.id == seeded.campaign_id),
    )
    assert queued == CONTACTS
    assert int(str(attempts)) >= 2, "the survivor never took the campaign over"
