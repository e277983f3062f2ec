"""The webhook queue: retry schedule, Retry-After, per rule and message ordering, signing."""

from __future__ import annotations

import time

from standardwebhooks.webhooks import Webhook

from dovecote.pipeline import webhook_queue as queue
from dovecote.pipeline.webhook_queue import Attempt
from dovecote.pipeline.webhook_signing import headers, new_secret
from dovecote.settings import Settings
from dovecote.storage.db import create_engine
from email_support import owner_principal


def test_the_schedule_spreads_the_tries_over_about_a_day() -> None:
    assert queue.MAX_ATTEMPTS == 11
    total = sum(queue.SCHEDULE)
    assert 23 * 3600 < total <= 24 * 3600
    failed = Attempt(503, None, 5)
    due = [queue.next_due(failed, n, 0.0) for n in range(1, queue.MAX_ATTEMPTS)]
    assert all(d is not None for d in due)
    assert 54 <= (due[0] or 0) <= 66  # one minute, ±10 %
    assert queue.next_due(failed, queue.MAX_ATTEMPTS, 0.0) is None  # dead after the last


def test_retry_after_is_honoured_and_a_4xx_is_final() -> None:
    assert (queue.next_due(Attempt(429, None, 1, retry_after=3600.0), 1, 0.0) or 0) >= 3600
    assert queue.next_due(Attempt(None, "refused", 1), 1, 0.0) is not None
    assert queue.next_due(Attempt(404, None, 1), 1, 0.0) is None
    assert queue.next_due(Attempt(302, None, 1), 1, 0.0) is None


def test_signatures_verify_with_the_standard_webhooks_library() -> None:
    secret = new_secret()
    body = b'{"a":1}'
    signed = headers([secret, new_secret()], "msg_1", int(time.time()), body)
    assert Webhook(secret).verify(body, signed) == {"a": 1}


async def test_a_later_delivery_for_the_same_rule_and_message_waits_for_the_earlier(
    app: object, settings: Settings
) -> None:
    engine = create_engine(settings.database_url)
    try:
        principal = await owner_principal(engine)
        now = time.time()

        def row(rule_id: int, message_id: str) -> dict[str, object]:
            return queue.row(
                account_id=principal.account.id,
                rule_id=rule_id,
                event_type="receipt",
                message_id=message_id,
                url="http://127.0.0.1:9/",
                content_type="application/json",
                body="{}",
                now=now,
            )

        async with engine.begin() as conn:
            await queue.enqueue(conn, [row(1, "m1"), row(1, "m1"), row(2, "m1"), row(1, "m2")])
        async with engine.begin() as conn:
            first = await queue.claim(conn, owner="w", now=now, lease=60, limit=10)
        # The second delivery of rule 1 for m1 waits; the other rule and message do not.
        assert [(d.rule_id, d.attempts) for d in first] == [(1, 1), (2, 1), (1, 1)]
        earliest, *others = first
        async with engine.begin() as conn:
            for other in others:
                await queue.finish(conn, other, Attempt(200, None, 3), owner="w", now=now)
            status = await queue.finish(conn, earliest, Attempt(500, None, 3), owner="w", now=now)
        assert status == queue.PENDING
        async with engine.begin() as conn:
            # Retrying in an hour: the failed one, still not the one queued after it.
            retry = await queue.claim(conn, owner="w", now=now + 3600, lease=60, limit=10)
        assert [(d.id, d.attempts) for d in retry] == [(earliest.id, 2)]
        async with engine.begin() as conn:
            await queue.finish(conn, retry[0], Attempt(200, None, 3), owner="w", now=now + 3600)
        async with engine.begin() as conn:
            after = await queue.claim(conn, owner="w", now=now + 3600, lease=60, limit=10)
        assert [(d.rule_id, d.attempts) for d in after] == [(1, 1)]
        assert after[0].id > earliest.id
    finally:
        await engine.dispose()


async def test_finished_deliveries_are_purged_after_their_time_and_pending_ones_never(
    app: object, settings: Settings
) -> None:
    engine = create_engine(settings.database_url)
    try:
        principal = await owner_principal(engine)
        now = time.time()
        rows = [
            queue.row(
                account_id=principal.account.id,
                rule_id=1,
                event_type="inbound",
                message_id=f"m{n}",
                url="http://127.0.0.1:9/",
                content_type="application/json",
                body="{}",
                now=now,
            )
            for n in range(3)
        ]
        async with engine.begin() as conn:
            await queue.enqueue(conn, rows)
            claimed = await queue.claim(conn, owner="w", now=now, lease=60, limit=10)
            old, recent, waiting = claimed
            await queue.finish(conn, old, Attempt(200, None, 1), owner="w", now=now - 40 * 86400)
            await queue.finish(conn, recent, Attempt(404, None, 1), owner="w", now=now)
            await queue.finish(
                conn, waiting, Attempt(500, None, 1), owner="w", now=now - 40 * 86400
            )
        async with engine.begin() as conn:
            assert await queue.purge(conn, before=now - 30 * 86400) == 1
            left = await queue.claim(conn, owner="w", now=now + 86400, lease=60, limit=10)
        assert [d.id for d in left] == [waiting.id]
    finally:
        await engine.dispose()
