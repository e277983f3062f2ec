"""List page latency on a big contact list: `GET /v3/lists/{id}/contacts` through the
whole app (auth, query, JSON), in process, on a list of N contacts (1,000,000 by default).

Seeds the list with batched inserts, then times requests for the first page, pages
spread through the list, the last page, and a search (`q=first_name:…`), reporting
p50/p95/max per kind. Figures go to bench/README.md.

    PYTHONPATH=src .venv/bin/python bench/contacts_list.py [--contacts 1000000]
        [--database-url postgresql+asyncpg://…] [--requests 200]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
from pathlib import Path

import httpx

from dovecote.accounts import service as accounts
from dovecote.app import create_app
from dovecote.contacts import service
from dovecote.settings import Settings
from dovecote.storage.db import create_engine
from dovecote.storage.migrate import upgrade
from dovecote.storage.tables import contacts

KEY = "BE7C4BE7-0000-4000-8000-00000000C012"
CHUNK = 20_000


async def seed(database_url: str, count: int) -> int:
    engine = create_engine(database_url)
    await upgrade(engine)
    async with engine.begin() as conn:
        await accounts.create_account(conn, username="bench", api_key=KEY, login_password=False)
        principal = await accounts.authenticate_bearer(conn, KEY)
        target = await service.create_list(conn, principal, "Everyone")
    now = int(time.time())
    for start in range(0, count, CHUNK):
        rows = [
            {
                "account_id": principal.account.id,
                "list_id": target.id,
                "phone_number": f"+1415{2_000_000 + n:07d}",
                "first_name": f"Person{n}",
                "last_name": "Bench",
                "created_at": now,
                "updated_at": now,
            }
            for n in range(start, min(start + CHUNK, count))
        ]
        async with engine.begin() as conn:
            await conn.execute(contacts.insert(), rows)
    await engine.dispose()
    return target.id


def summary(name: str, samples: list[float]) -> str:
    ordered = sorted(samples)
    p50 = ordered[len(ordered) // 2]
    p95 = ordered[max(0, int(len(ordered) * 0.95) - 1)]
    return (
        f"  {name:<22} p50 {p50 * 1000:6.1f} ms  "
        f"p95 {p95 * 1000:6.1f} ms  max {ordered[-1] * 1000:6.1f} ms  (n={len(ordered)})"
    )


async def main(count: int, url: str | None, requests: int, workdir: Path) -> None:
    database_url = url or f"sqlite+aiosqlite:///{workdir / 'bench.db'}"
    started = time.perf_counter()
    list_id = await seed(database_url, count)
    print(f"seeded {count:,} contacts in {time.perf_counter() - started:.1f} s")
    settings = Settings(database_url=database_url, worker_enabled=False, files_dir=str(workdir))
    app = create_app(settings)
    rng = random.Random(7)
    limit = 15
    last = -(-count // limit)
    kinds = {
        "first page": lambda: {"page": 1, "limit": limit},
        "random page": lambda: {"page": rng.randint(1, last), "limit": limit},
        "last page": lambda: {"page": last, "limit": limit},
        "page of 100": lambda: {"page": rng.randint(1, count // 100), "limit": 100},
        "search first_name": lambda: {"q": f"first_name:Person{rng.randrange(count)}"},
    }
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        headers = {"Authorization": f"Bearer {KEY}"}
        async with httpx.AsyncClient(
            transport=transport, base_url="http://bench", headers=headers
        ) as client:
            print(
                f"GET /v3/lists/{{id}}/contacts on {count:,} contacts ({database_url.split(':')[0]})"
            )
            for name, params in kinds.items():
                samples = []
                for _ in range(requests if name != "search first_name" else max(5, requests // 20)):
                    chosen = params()
                    begun = time.perf_counter()
                    answer = await client.get(f"/v3/lists/{list_id}/contacts", params=chosen)
                    samples.append(time.perf_counter() - begun)
                    assert answer.status_code == 200, answer.text
                print(summary(name, samples))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--database-url")
    parser.add_argument("--requests", type=int, default=200)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        asyncio.run(main(options.contacts, options.database_url, options.requests, Path(directory)))
