"""SMS campaign fan-out: messages queued per second by the fan-out job, SQLite.

Loads N contacts into a list (bulk insert), sends a personalised campaign to it (the
request only inserts the campaign), then times `fanout.run_due_campaigns` — 1,000
contacts per batch: personalise, compose, opt-out check, throttle, charge, insert,
the `queued` events through the worker's sinks, checkpoint — and prints messages/s. Figures go to bench/README.md.

    PYTHONPATH=src .venv/bin/python bench/sms_campaign.py [--contacts 20000]
        [--database-url sqlite+aiosqlite:///...]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from dovecote import wiring
from dovecote.accounts import service as accounts
from dovecote.campaigns import fanout
from dovecote.campaigns import sms as campaigns
from dovecote.contacts import service
from dovecote.contacts.fields import FIELDS
from dovecote.core.money import to_micros
from dovecote.pipeline.events import EventLog
from dovecote.pipeline.pricing import PriceBook
from dovecote.settings import Settings
from dovecote.storage.db import create_engine
from dovecote.storage.migrate import upgrade
from dovecote.storage.tables import contacts

KEY = "BE7C4BE7-0000-4000-8000-00000000CA4E"


async def main(count: int, url: str | None, workdir: Path) -> None:
    database_url = url or f"sqlite+aiosqlite:///{workdir / 'bench.db'}"
    settings = Settings(database_url=database_url, sms_throttle_window=0)
    engine = create_engine(database_url)
    await upgrade(engine)
    async with engine.begin() as conn:
        await accounts.create_account(
            conn, username="bench", api_key=KEY, login_password=False,
            balance_micros=to_micros(Decimal(1_000_000)),
        )  # fmt: skip
        principal = await accounts.authenticate_bearer(conn, KEY)
        target = await service.create_list(conn, principal, "Bench")
        now = int(time.time())
        rows = [
            {
                **{name: None for name in FIELDS},
                "phone_number": f"+1415{2000000 + n}",
                "first_name": f"Person{n}",
                "account_id": principal.account.id,
                "list_id": target.id,
                "created_at": now,
                "updated_at": now,
            }
            for n in range(count)
        ]
        await conn.execute(contacts.insert(), rows)
        campaign = await campaigns.send(
            conn,
            principal,
            {"list_id": target.id, "name": "Bench", "from": "Dovecote", "body": "Hi {first_name}"},
            ip=None,
        )
    events = EventLog(wiring.SINKS)  # the worker's sinks: events, statistics, automations
    started, cpu = time.perf_counter(), time.process_time()
    await fanout.run_due_campaigns(engine, settings, events, PriceBook.load(None))
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    async with engine.connect() as conn:
        done = await campaigns.get(conn, principal, int(campaign["id"]))
    await engine.dispose()
    queued = int(done["queued"])
    print(
        f"sms campaign fan-out {database_url.split(':', 1)[0]}: {queued:,} of {count:,} messages "
        f"in {elapsed:.2f} s = {queued / elapsed:,.0f} msg/s; "
        f"{cpu:.2f} CPU s = {queued / cpu:,.0f} msg per CPU second"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--contacts", type=int, default=20_000)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(main(args.contacts, args.database_url, Path(tmp)))
