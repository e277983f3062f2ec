"""The dispatcher in-process: claim, hand to the transport, record outcomes, retry, leases.

Messages enter through the real `POST /v3/sms/send`; the dispatcher's clock is movable
(`clock.now`), so receipt delays, schedules, backoff and lease expiry take no real time.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI

from dispatch_support import dispatcher as build_dispatcher
from dovecote.pipeline import dispatcher as dispatcher_module
from dovecote.pipeline.dispatcher import Dispatcher
from dovecote.pipeline.transports.base import Job, Outcome
from dovecote.settings import Settings
from dovecote.storage.tables import events, messages


def us(n: int) -> str:
    return f"+1202555{n:04d}"


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> SimpleNamespace:
    """The dispatcher's clock: `time.time()` inside it answers `clock.now`. It starts a
    minute ahead, so messages the test sends first are already due: the API stamps them
    with the real time, and a loaded machine once took over 5 s between this fixture and
    a test's second send (the message was then not yet due on the first pass)."""
    state = SimpleNamespace(now=time.time() + 60)
    monkeypatch.setattr(dispatcher_module, "time", SimpleNamespace(time=lambda: state.now))
    return state


async def send(client: httpx.AsyncClient, *recipients: str, **extra: Any) -> list[str]:
    payload = {"messages": [{"to": to, "body": f"Hi {to}", **extra} for to in recipients]}
    response = await client.post("/v3/sms/send", json=payload)
    assert response.status_code == 200, response.text
    data = response.json()["data"]["messages"]
    assert [m["status"] for m in data] == ["SUCCESS"] * len(recipients), data
    return [m["message_id"] for m in data]


def dispatcher(app: FastAPI, settings: Settings, **changes: Any) -> Dispatcher:
    configured = settings.model_copy(update=changes)
    return build_dispatcher(app.state.runtime.engine, configured)


async def row(app: FastAPI, message_id: str) -> dict[str, Any]:
    async with app.state.runtime.engine.connect() as conn:
        result = await conn.execute(sa.select(messages).where(messages.c.id == message_id))
        return dict(result.mappings().one())


async def event_log(app: FastAPI, message_id: str) -> list[dict[str, Any]]:
    query = sa.select(events).where(events.c.message_id == message_id).order_by(events.c.id)
    async with app.state.runtime.engine.connect() as conn:
        return [dict(r) for r in (await conn.execute(query)).mappings()]


async def types(app: FastAPI, message_id: str) -> list[str]:
    return [e["type"] for e in await event_log(app, message_id)]


async def drain(
    d: Dispatcher, clock: SimpleNamespace, *, step: float = 0.0, passes: int = 20
) -> int:
    """Run passes (moving the clock `step` seconds before each) until one claims nothing."""
    total = 0
    for _ in range(passes):
        clock.now += step
        claimed = await d.run_once()
        if not claimed:
            return total
        total += claimed
    raise AssertionError("the queue did not drain")


# --- the happy path -----------------------------------------------------------------------


async def test_a_message_goes_queued_sent_delivered_with_a_receipt_event(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings, clock: SimpleNamespace
) -> None:
    [message_id] = await send(client, us(1), custom_string="ref-1")
    d = dispatcher(app, settings)

    assert await d.run_once() == 1
    sent = await row(app, message_id)
    assert sent["status"] == "sent"
    assert sent["attempts"] == 1
    assert sent["lease_owner"] is None
    assert sent["sent_at"] is not None
    assert sent["transport_ref"] == f"sandbox-{message_id}"
    assert sent["status_code"] == "200"

    assert await d.run_once() == 1
    delivered = await row(app, message_id)
    assert delivered["status"] == "delivered"
    assert delivered["status_code"] == "201"
    assert delivered["status_text"] == "Delivered"
    assert delivered["error_code"] is None
    assert delivered["due_at"] is None
    assert delivered["attempts"] == 1
    assert await d.run_once() == 0

    log = await event_log(app, message_id)
    assert [e["type"] for e in log] == ["queued", "sent", "receipt"]
    receipt = log[-1]["data"]
    assert receipt["status_code"] == 201
    assert receipt["status_text"] == "Delivered"
    assert receipt["error_code"] is None
    assert receipt["custom_string"] == "ref-1"
    assert receipt["message_type"] == "sms"
    assert receipt["timestamp_send"] == sent["sent_at"]
    assert log[-1]["channel"] == "sms"


async def test_the_receipt_waits_for_the_sandbox_receipt_delay(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings, clock: SimpleNamespace
) -> None:
    [message_id] = await send(client, us(2))
    d = dispatcher(app, settings, sandbox_receipt_delay=30)
    start = clock.now

    assert await d.run_once() == 1
    clock.now = start + 29
    assert await d.run_once() == 0
    assert (await row(app, message_id))["status"] == "sent"
    clock.now = start + 31
    assert await d.run_once() == 1

    assert (await row(app, message_id))["status"] == "delivered"


async def test_a_scheduled_message_is_not_claimed_before_its_time(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings, clock: SimpleNamespace
) -> None:
    when = int(clock.now) + 3600
    [later] = await send(client, us(3), schedule=when)
    [now] = await send(client, us(4))
    d = dispatcher(app, settings)

    await drain(d, clock)
    assert (await row(app, now))["status"] == "delivered"
    assert (await row(app, later))["status"] == "queued"
    assert await types(app, later) == ["queued"]

    clock.now = when + 1
    await drain(d, clock)
    assert (await row(app, later))["status"] == "delivered"


async def test_a_pass_claims_at_most_a_batch(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings, clock: SimpleNamespace
) -> None:
    await send(client, *(us(10 + n) for n in range(7)))
    d = dispatcher(app, settings, worker_batch_size=3, sandbox_receipt_delay=3600)

    assert [await d.run_once() for _ in range(4)] == [3, 3, 1, 0]


# --- sandbox rules --------------------------------------------------------------------------


async def test_sandbox_rules_script_failures_expiry_rejection_and_delay(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings, clock: SimpleNamespace
) -> None:
    failed, expired, rejected, delayed, plain = await send(
        client, us(101), us(102), us(103), us(104), us(105)
    )
    d = dispatcher(
        app,
        settings,
        sandbox_rules=[
            f"{us(101)}=failed:302",
            f"{us(102)}=expired",
            f"{us(103)}=reject",
            f"{us(104)}=delay:120",
        ],
    )
    start = clock.now

    await drain(d, clock)

    failed_row = await row(app, failed)
    assert (failed_row["status"], failed_row["status_code"]) == ("failed", "302")
    assert failed_row["error_code"] == "302"
    assert failed_row["status_text"] == "Rejected"
    failed_log = await event_log(app, failed)
    assert [e["type"] for e in failed_log] == ["queued", "sent", "receipt"]
    assert failed_log[-1]["data"]["status_code"] == 302
    assert failed_log[-1]["data"]["error_code"] == 302

    expired_row = await row(app, expired)
    assert (expired_row["status"], expired_row["status_code"]) == ("expired", "301")
    assert (await event_log(app, expired))[-1]["data"]["status_code"] == 301

    rejected_row = await row(app, rejected)
    assert (rejected_row["status"], rejected_row["status_code"]) == ("failed", "300")
    assert rejected_row["attempts"] == 1
    assert await types(app, rejected) == ["queued", "receipt"]  # refused at submission: never sent

    assert (await row(app, plain))["status"] == "delivered"
    assert (await row(app, delayed))["status"] == "sent"
    clock.now = start + 119
    assert await d.run_once() == 0
    clock.now = start + 121
    assert await d.run_once() == 1
    assert (await row(app, delayed))["status"] == "delivered"


async def test_defer_2_defers_twice_then_delivers_on_the_third_attempt(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings, clock: SimpleNamespace
) -> None:
    [message_id] = await send(client, us(110))
    d = dispatcher(app, settings, sandbox_rules=[f"{us(110)}=defer:2"], worker_backoff_base=2.0)

    await drain(d, clock, step=60)

    delivered = await row(app, message_id)
    assert delivered["status"] == "delivered"
    assert delivered["attempts"] == 3
    log = await event_log(app, message_id)
    assert [e["type"] for e in log] == ["queued", "deferred", "deferred", "sent", "receipt"]
    assert [e["data"]["attempt_num"] for e in log[1:4]] == [1, 2, 3]


async def test_a_deferred_message_waits_out_its_exponential_backoff(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings, clock: SimpleNamespace
) -> None:
    [message_id] = await send(client, us(111))
    d = dispatcher(app, settings, sandbox_rules=[f"{us(111)}=defer:5"], worker_backoff_base=3.0)
    start = clock.now

    assert await d.run_once() == 1  # attempt 1 fails: next try after 3**1 s
    deferred = await row(app, message_id)
    assert (deferred["status"], deferred["attempts"]) == ("queued", 1)
    assert deferred["due_at"] == pytest.approx(start + 3)
    assert deferred["error_text"] == "Temporary failure (sandbox rule)"
    clock.now = start + 2.9
    assert await d.run_once() == 0
    clock.now = start + 3.1
    assert await d.run_once() == 1  # attempt 2 fails: next try after 3**2 s
    assert (await row(app, message_id))["due_at"] == pytest.approx(start + 3.1 + 9)


async def test_retries_exhaust_at_the_attempt_limit_and_the_message_fails(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings, clock: SimpleNamespace
) -> None:
    [message_id] = await send(client, us(112))
    d = dispatcher(app, settings, sandbox_rules=[f"{us(112)}=defer:10"], worker_max_attempts=3)

    assert await drain(d, clock, step=3600) == 3

    failed = await row(app, message_id)
    assert failed["status"] == "failed"
    assert failed["attempts"] == 3
    assert failed["status_code"] == "300"
    assert failed["due_at"] is None
    assert await types(app, message_id) == ["queued", "deferred", "deferred", "receipt"]


# --- transports that misbehave --------------------------------------------------------------


class RaisingTransport:
    name = "broken"

    def __init__(self, *, send_fails: bool = True, settle_fails: bool = False) -> None:
        self.send_fails = send_fails
        self.settle_fails = settle_fails
        self.sent: list[str] = []

    async def send(self, jobs: Sequence[Job]) -> Sequence[Outcome]:
        if self.send_fails:
            raise ConnectionError("relay unreachable")
        self.sent.extend(job.id for job in jobs)
        return [Outcome("sent", transport_ref=f"broken-{job.id}", follow_up_in=0) for job in jobs]

    async def settle(self, jobs: Sequence[Job]) -> Sequence[Outcome]:
        if self.settle_fails:
            raise ConnectionError("receipt lookup failed")
        return [Outcome("delivered") for _ in jobs]

    async def close(self) -> None:
        return None


class ShortTransport(RaisingTransport):
    async def send(self, jobs: Sequence[Job]) -> Sequence[Outcome]:
        return [Outcome("sent")] * (len(jobs) - 1)


async def test_a_transport_that_raises_defers_the_batch_and_loses_nothing(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings, clock: SimpleNamespace
) -> None:
    ids = await send(client, us(120), us(121), us(122))
    broken = RaisingTransport()
    d = build_dispatcher(app.state.runtime.engine, settings, {"sms": broken, "default": broken})

    assert await d.run_once() == 3

    for message_id in ids:
        deferred = await row(app, message_id)
        assert deferred["status"] == "queued"
        assert deferred["attempts"] == 1
        assert deferred["lease_owner"] is None
        assert "relay unreachable" in deferred["error_text"]
        assert await types(app, message_id) == ["queued", "deferred"]
    # The relay comes back: everything is delivered.
    await drain(dispatcher(app, settings), clock, step=60)
    for message_id in ids:
        assert (await row(app, message_id))["status"] == "delivered"
        assert (await types(app, message_id))[-2:] == ["sent", "receipt"]


async def test_a_transport_answering_the_wrong_number_of_outcomes_defers_the_batch(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings, clock: SimpleNamespace
) -> None:
    ids = await send(client, us(123), us(124))
    short = ShortTransport()
    d = build_dispatcher(app.state.runtime.engine, settings, {"sms": short, "default": short})

    assert await d.run_once() == 2

    assert {(await row(app, i))["status"] for i in ids} == {"queued"}


async def test_a_failed_receipt_lookup_never_sends_the_message_again(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings, clock: SimpleNamespace
) -> None:
    [message_id] = await send(client, us(125))
    flaky = RaisingTransport(send_fails=False, settle_fails=True)
    d = build_dispatcher(app.state.runtime.engine, settings, {"sms": flaky, "default": flaky})

    assert await d.run_once() == 1  # sent
    clock.now += 1
    assert await d.run_once() == 1  # settle raises
    after_failed_settle = await row(app, message_id)
    flaky.settle_fails = False
    await drain(d, clock, step=3600)

    assert after_failed_settle["status"] == "sent"  # not back in the send queue
    assert flaky.sent == [message_id]  # handed to the transport once
    assert (await row(app, message_id))["status"] == "delivered"
    assert (await types(app, message_id)).count("sent") == 1
    # A sent message is not cancellable while its receipt is pending.
    assert (await client.put(f"/v3/sms/{message_id}/cancel")).status_code == 404


async def test_a_receipt_lookup_that_keeps_failing_expires_the_message_in_the_end(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings, clock: SimpleNamespace
) -> None:
    [message_id] = await send(client, us(126))
    flaky = RaisingTransport(send_fails=False, settle_fails=True)
    configured = settings.model_copy(update={"worker_receipt_timeout": 600})
    d = build_dispatcher(app.state.runtime.engine, configured, {"default": flaky})

    await drain(d, clock, step=60)

    expired = await row(app, message_id)
    assert (expired["status"], expired["status_code"]) == ("expired", "301")
    assert expired["due_at"] is None  # final: never looked at again
    assert flaky.sent == [message_id]
    assert (await types(app, message_id))[-1] == "receipt"


# --- auto-replies ---------------------------------------------------------------------------


async def test_a_sandbox_auto_reply_arrives_as_an_inbound_message(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings, clock: SimpleNamespace
) -> None:
    [message_id] = await send(client, "+14155550123", **{"from": "+12025550999"})
    [no_reply] = await send(client, us(130))
    d = dispatcher(app, settings, sandbox_auto_replies=["+1415=Thanks, got it"])

    await drain(d, clock)

    async with app.state.runtime.engine.connect() as conn:
        query = sa.select(messages).where(messages.c.direction == "in")
        inbound = [dict(r) for r in (await conn.execute(query)).mappings()]
    assert len(inbound) == 1
    [reply] = inbound
    assert reply["channel"] == "sms"
    assert reply["body"] == "Thanks, got it"
    assert reply["sender"] == "+14155550123"
    assert reply["recipient"] == "+12025550999"
    assert reply["original_message_id"] == message_id
    assert reply["status"] == "received"
    assert (await row(app, no_reply))["status"] == "delivered"


# --- leases ---------------------------------------------------------------------------------


class BlockingTransport(RaisingTransport):
    """Holds its batch until released: a worker stalled (or partitioned) mid-batch."""

    def __init__(self) -> None:
        super().__init__(send_fails=False)
        self.entered = asyncio.Event()
        self.release = asyncio.Event()

    async def send(self, jobs: Sequence[Job]) -> Sequence[Outcome]:
        self.entered.set()
        await self.release.wait()
        return await super().send(jobs)


async def test_a_lost_lease_is_taken_over_and_the_late_finish_is_ignored(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings, clock: SimpleNamespace
) -> None:
    [message_id] = await send(client, us(140))
    stalled = BlockingTransport()
    first = build_dispatcher(
        app.state.runtime.engine,
        settings.model_copy(update={"worker_lease_seconds": 0.5}),
        {"sms": stalled, "default": stalled},
    )
    second = dispatcher(app, settings)
    start = clock.now

    late = asyncio.create_task(first.run_once())
    await asyncio.wait_for(stalled.entered.wait(), 10)
    claimed = await row(app, message_id)
    assert claimed["lease_owner"] == first.owner
    assert await second.run_once() == 0  # the lease still holds
    clock.now = start + 1  # the lease ran out
    assert await second.run_once() == 1
    taken = await row(app, message_id)
    assert taken["status"] == "sent"
    stalled.release.set()  # the first worker wakes up and reports, too late
    assert await asyncio.wait_for(late, 10) == 1
    after_late_finish = await row(app, message_id)
    assert await second.run_once() == 1  # the receipt

    assert after_late_finish == taken
    final = await row(app, message_id)
    assert final["status"] == "delivered"
    assert final["transport_ref"] == f"sandbox-{message_id}"
    assert final["attempts"] == 1
    assert await types(app, message_id) == ["queued", "sent", "receipt"]


async def test_a_late_finish_while_the_new_owner_holds_the_lease_changes_nothing(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings, clock: SimpleNamespace
) -> None:
    [message_id] = await send(client, us(141))
    stalled_first, stalled_second = BlockingTransport(), BlockingTransport()
    lease = settings.model_copy(update={"worker_lease_seconds": 0.5})
    engine = app.state.runtime.engine
    first = build_dispatcher(engine, lease, {"sms": stalled_first, "default": stalled_first})
    second = build_dispatcher(engine, settings, {"sms": stalled_second, "default": stalled_second})

    first_pass = asyncio.create_task(first.run_once())
    await asyncio.wait_for(stalled_first.entered.wait(), 10)
    clock.now += 1
    second_pass = asyncio.create_task(second.run_once())
    await asyncio.wait_for(stalled_second.entered.wait(), 10)
    stalled_first.release.set()
    await asyncio.wait_for(first_pass, 10)
    while_second_holds = await row(app, message_id)
    stalled_second.release.set()
    await asyncio.wait_for(second_pass, 10)

    assert while_second_holds["lease_owner"] == second.owner
    assert while_second_holds["status"] == "queued"
    assert await types(app, message_id) == ["queued", "sent"]  # only the owner's report counts
    assert (await row(app, message_id))["status"] == "sent"


async def test_a_worker_on_a_host_with_a_long_name_still_claims(
    app: FastAPI,
    client: httpx.AsyncClient,
    settings: Settings,
    clock: SimpleNamespace,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Kubernetes pod names run to 63 characters; `lease_owner` holds 64.
    monkeypatch.setattr(socket, "gethostname", lambda: "p" * 63)
    [message_id] = await send(client, us(150))
    d = dispatcher(app, settings)

    assert await d.run_once() == 1

    assert (await row(app, message_id))["status"] == "sent"
    column_type = messages.c.lease_owner.type
    assert isinstance(column_type, sa.String) and column_type.length is not None
    assert len(d.owner) <= column_type.length
