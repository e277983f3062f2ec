"""The Messages page's event stream, served by one process on PostgreSQL, shows the
delivery a separate `dovecote worker` process made (LISTEN/NOTIFY between them)."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from conftest import OWNER, OWNER_KEY, OWNER_PASSWORD, LiveServer
from dovecote.settings import Settings
from worker_support import pg_database_url, start_worker, stop

__all__ = ["pg_database_url"]  # a fixture, used by name


def _rows(lines: Iterator[str], deadline: float) -> Iterator[str]:
    """Each `row` event's HTML, joined from its `data:` lines."""
    data: list[str] = []
    for line in lines:
        if time.monotonic() > deadline:
            return
        if line.startswith("data: "):
            data.append(line[6:])
        elif not line and data:
            yield "\n".join(data)
            data = []


def test_a_worker_process_delivery_appears_on_the_live_page_of_the_api_process(
    pg_database_url: str, tmp_path: Path
) -> None:
    settings = Settings(
        database_url=pg_database_url,
        files_dir=str(tmp_path / "files"),
        owner_username=OWNER,
        owner_password=OWNER_PASSWORD,
        owner_api_key=OWNER_KEY,
        owner_balance="100.00",
        worker_enabled=False,  # this process only serves: delivery is another process's
        rate_limit="10000/second",
    )
    live = LiveServer(settings)
    live.server.config.timeout_graceful_shutdown = 2  # the stream is still open
    with live, httpx.Client(base_url=live.url, timeout=30) as browser:
        login = browser.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', login.text)
        assert token is not None
        form = {"username": OWNER, "password": OWNER_PASSWORD, "csrf_token": token.group(1)}
        assert browser.post("/login", data=form).status_code == 303

        with browser.stream("GET", "/messages/live") as stream:
            lines = stream.iter_lines()
            assert next(lines) == "retry: 1000"  # listening: what follows is heard
            sent = httpx.post(
                live.url + "/v3/sms/send",
                json={"messages": [{"to": "+12025550123", "body": "far", "source": "test"}]},
                auth=(OWNER, OWNER_KEY),
                timeout=30,
            )
            assert sent.status_code == 200, sent.text
            message_id = sent.json()["data"]["messages"][0]["message_id"]
            worker = start_worker(pg_database_url, tmp_path / "worker.log")
            try:
                statuses: list[str] = []
                for row in _rows(lines, time.monotonic() + 30):
                    if f'id="m-{message_id}"' in row:
                        found = re.search(r'class="badge">(\w+)<', row)
                        assert found is not None
                        statuses.append(found.group(1))
                        if statuses[-1] == "delivered":
                            break
            finally:
                stop([worker])

    assert statuses[:1] == ["queued"] and statuses[-1:] == ["delivered"], statuses
