"""Dashboard page load latency with a million messages in the database.

Loads N messages (default 1,000,000: SMS, email, MMS, voice, both directions, six
statuses, over 90 days) for one account straight into `messages` (plus their statistics
rollups through the real sink is skipped: the overview reads rollups, which stay small
whatever N is), then serves the app in-process (httpx ASGITransport: no network, the
client's CPU shared with the server's), signs in through the form, and times each page
`--runs` times: p50 and p95. Figures go to bench/README.md.

    .venv/bin/python bench/dashboard.py [--messages 1000000] [--runs 40] [--skip-load]
        [--database-url URL]   (default: a fresh temporary SQLite file; an empty
                                PostgreSQL database works too)
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import re
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from dovecote.app import create_app
from dovecote.settings import Settings
from dovecote.storage.db import create_engine
from dovecote.storage.migrate import upgrade
from dovecote.storage.tables import messages

OWNER, PASSWORD = "owner", "bench-password"
CHANNELS = ("sms", "sms", "sms", "email", "email", "mms", "voice")
STATUSES = ("delivered",) * 8 + ("failed", "sent", "queued", "expired")
CHUNK = 20_000


def rows(account_id: int, user_id: int, start: int, count: int, now: int) -> list[dict[str, Any]]:
    out = []
    for n in range(start, start + count):
        channel = CHANNELS[n % len(CHANNELS)]
        inbound = channel == "sms" and n % 10 == 0
        handset = f"+1202555{n % 10_000:04d}"
        address = f"user{n % 50_000}@example.com"
        to = address if channel == "email" else handset
        out.append(
            {
                "id": str(uuid.UUID(int=n)).upper(),
                "account_id": account_id,
                "user_id": user_id,
                "channel": channel,
                "direction": "in" if inbound else "out",
                "sender": handset if inbound else ("shop@example.com" if channel == "email" else "Shop"),
                "recipient": "Shop" if inbound else to,
                "subject": f"Order {n}" if channel == "email" else None,
                "body": f"Your order {n} has shipped. Track it at https://example.com/t/{n}",
                "status": "received" if inbound else STATUSES[n % len(STATUSES)],
                "price_micros": 0 if inbound else 77_000,
                "created_at": now - 90 * 86400 + n * (90 * 86400) // 1_000_000,
                "updated_at": now,
            }
        )  # fmt: skip
    return out


async def load(url: str, count: int) -> None:
    engine = create_engine(url)
    await upgrade(engine)
    settings = Settings(database_url=url, owner_username=OWNER, owner_password=PASSWORD)
    app = create_app(settings, run_worker=False)
    async with app.router.lifespan_context(app):  # creates the owner
        pass
    async with engine.begin() as conn:
        user = (
            await conn.execute(
                sa.text("SELECT id, account_id FROM users WHERE username = :u"), {"u": OWNER}
            )
        ).one()
        now = int(time.time())
        for start in range(0, count, CHUNK):
            await conn.execute(
                messages.insert(),
                rows(user.account_id, user.id, start, min(CHUNK, count - start), now),
            )
        await conn.execute(sa.text("ANALYZE"))
    await engine.dispose()


async def measure(url: str, runs: int) -> None:
    settings = Settings(database_url=url, owner_username=OWNER, owner_password=PASSWORD)
    app = create_app(settings, run_worker=False)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:
            form = (await http.get("/login")).text
            token = re.search(r'name="csrf_token" value="([^"]+)"', form)
            assert token is not None
            signed = await http.post(
                "/login",
                data={
                    "csrf_token": token.group(1),
                    "username": OWNER,
                    "password": PASSWORD,
                    "next": "/",
                },
            )
            assert signed.status_code == 303, signed.text
            first = (await http.get("/messages")).text
            message_id = re.search(r'id="m-([0-9A-F-]{36})"', first)
            assert message_id is not None
            # A cursor half-way down: page 10,000 if it were OFFSET.
            deep = (await http.get("/messages?after=" + cursor_at(first, 10_000))).status_code
            assert deep == 200
            pages = {
                "messages, first page": "/messages",
                "messages, ~page 10,000 (keyset cursor)": "/messages?after="
                + cursor_at(first, 10_000),
                "messages, channel=email&status=failed": "/messages?channel=email&status=failed",
                "messages, direction=in": "/messages?direction=in",
                "messages, search a number": "/messages?q=%2B12025550042",
                "one message": f"/messages/{message_id.group(1)}",
                "overview (30 days)": "/",
                "phone threads": "/phone",
                "phone, one thread": "/phone/%2B12025550042",
            }
            for name, path in pages.items():
                times = []
                for _ in range(runs):
                    began = time.perf_counter()
                    answer = await http.get(path)
                    times.append((time.perf_counter() - began) * 1000)
                    assert answer.status_code == 200, (path, answer.status_code)
                times.sort()
                p95 = times[max(0, int(len(times) * 0.95) - 1)]
                print(f"{name:42s} p50 {times[len(times) // 2]:7.1f} ms  p95 {p95:7.1f} ms")


def cursor_at(first_page: str, page: int) -> str:
    """The cursor after row page×50 (rows are one per 7.776 s, newest first)."""
    newest = int(re.search(r'<time datetime="(\d+)"', first_page).group(1))  # type: ignore[union-attr]
    created = newest - page * 50 * 90 * 86400 // 1_000_000
    return base64.urlsafe_b64encode(
        f"{created}:FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF".encode()
    ).decode()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--database-url")
    parser.add_argument("--skip-load", action="store_true", help="measure a database loaded before")
    args = parser.parse_args()
    url = args.database_url
    if url is None:
        url = f"sqlite+aiosqlite:///{Path(tempfile.mkdtemp()) / 'bench.db'}"
    if not args.skip_load:
        began = time.perf_counter()
        asyncio.run(load(url, args.messages))
        elapsed = time.perf_counter() - began
        print(f"loaded {args.messages:,} messages in {elapsed:.0f} s ({url.split(':')[0]})")
    asyncio.run(measure(url, args.runs))


if __name__ == "__main__":
    main()
