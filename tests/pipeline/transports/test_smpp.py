"""The SMPP transport against a real SMSC (the simulator in smsc_support, over TCP on
loopback), driven by the real dispatcher: what the SMSC receives, and what its answers,
receipts and MOs become."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import struct
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import clicksend
import httpx
import pytest
import sqlalchemy as sa
from aiosmpplib import NPI, TON
from fastapi import FastAPI

from conftest import LiveServer
from dispatch_support import dispatcher as build_dispatcher
from dovecote import wiring
from dovecote.numbers import inventory
from dovecote.pipeline.dispatcher import Dispatcher
from dovecote.pipeline.transports.base import Job, Outcome
from dovecote.pipeline.transports.smpp.bind import Config
from dovecote.pipeline.transports.smpp.transport import SmppTransport
from dovecote.settings import Settings
from dovecote.storage.tables import events, messages, smpp_deliveries
from sms_support import as_caller, owner, sdk, subaccount
from smsc_support import Smsc, free_port, mo_pdu, until


def us(n: int) -> str:
    return f"+1202555{n:04d}"


@pytest.fixture
def smsc() -> Iterator[Smsc]:
    with Smsc().running() as simulator:
        yield simulator


@pytest.fixture
def fast(settings: Settings) -> Settings:
    """Retries due almost at once (backoff base**attempts seconds)."""
    return settings.model_copy(update={"worker_backoff_base": 0.001, "worker_max_attempts": 5})


def smpp(smsc: Smsc, **options: Any) -> SmppTransport:
    config = Config(
        "127.0.0.1",
        smsc.port,
        options.pop("system_id", "dovecote"),
        options.pop("password", "secret"),
        response_timeout=options.pop("response_timeout", 2.0),
        enquire_link_interval=options.pop("enquire_link_interval", 30.0),
        reconnect_min=0.02,
        reconnect_max=0.1,
    )
    options = {"bind_wait": 2.0, "throttle_pause": 0.02, "receipt_retry": 0.02, **options}
    return SmppTransport(config, **options)


@asynccontextmanager
async def connected(
    app: FastAPI, settings: Settings, transport: SmppTransport, *, wait: bool = True
) -> AsyncIterator[Dispatcher]:
    """A dispatcher whose SMS go to `transport`, started as the worker starts it."""
    engine = app.state.runtime.engine
    dispatcher = build_dispatcher(engine, settings, {"sms": transport, "default": transport})
    await transport.start(dispatcher.pushed())
    try:
        if wait:
            await until(lambda: all(bind.ready.is_set() for bind in transport.binds))
        yield dispatcher
    finally:
        await transport.close()


async def send(
    client: httpx.AsyncClient, *recipients: str, body: str = "", sender: str = "Dovecote"
) -> list[str]:
    payload = {
        "messages": [{"to": to, "body": body or f"Hi {to}", "from": sender} for to in recipients]
    }
    response = await client.post("/v3/sms/send", json=payload)
    assert response.status_code == 200, response.text
    return [m["message_id"] for m in response.json()["data"]["messages"]]


async def drain(dispatcher: Dispatcher, rounds: int = 50) -> None:
    """Dispatcher passes until nothing is due (deferred rows come due within ms)."""
    for _ in range(rounds):
        if not await dispatcher.run_once():
            await asyncio.sleep(0.01)
            if not await dispatcher.run_once():
                return


async def rows(app: FastAPI, ids: Sequence[str]) -> list[dict[str, Any]]:
    async with app.state.runtime.engine.connect() as conn:
        query = sa.select(messages).where(messages.c.id.in_(ids))
        found = {row["id"]: dict(row) for row in (await conn.execute(query)).mappings()}
    return [found[i] for i in ids]


async def statuses(app: FastAPI, ids: Sequence[str]) -> list[str]:
    return [row["status"] for row in await rows(app, ids)]


async def event_data(app: FastAPI, message_id: str) -> list[tuple[str, dict[str, Any]]]:
    async with app.state.runtime.engine.connect() as conn:
        query = sa.select(events.c.type, events.c.data).where(events.c.message_id == message_id)
        return [(t, dict(d)) for t, d in await conn.execute(query.order_by(events.c.id))]


async def held(app: FastAPI) -> list[dict[str, Any]]:
    async with app.state.runtime.engine.connect() as conn:
        query = sa.select(smpp_deliveries).order_by(smpp_deliveries.c.id)
        return [dict(row) for row in (await conn.execute(query)).mappings()]


async def eventually(predicate: Any, seconds: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not await predicate():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


# --- submission -----------------------------------------------------------------------


async def test_messages_are_submitted_and_their_receipts_show_delivered_in_the_receipts_api(
    app: FastAPI, client: httpx.AsyncClient, fast: Settings, smsc: Smsc
) -> None:
    ids = await send(client, us(1), us(2), sender="Dovecote")
    async with connected(app, fast, smpp(smsc)) as dispatcher:
        await drain(dispatcher)
        assert [s.destination.number for s in smsc.submitted] == ["12025550001", "12025550002"]
        first = smsc.submitted[0]
        assert (first.source.number, first.source.ton, first.source.npi) == (
            "Dovecote",
            TON.ALPHANUMERIC,
            NPI.UNKNOWN,
        )
        assert (first.destination.ton, first.destination.npi) == (TON.INTERNATIONAL, NPI.ISDN)
        sent = await rows(app, ids)
        assert [r["status"] for r in sent] == ["sent", "sent"]
        assert [r["transport_ref"] for r in sent] == [s.message_id for s in smsc.submitted]
        smsc.receipt(smsc.submitted[0].message_id, "DELIVRD")
        smsc.receipt(smsc.submitted[1].message_id, "UNDELIV", err="005")
        await until(lambda: len(smsc.acks) == 2)
    assert smsc.acks == [0, 0]
    assert await statuses(app, ids) == ["delivered", "failed"]
    failed = (await event_data(app, ids[1]))[-1][1]
    assert (failed["status_code"], failed["error_code"], failed["smpp_stat"]) == (300, 5, "UNDELIV")

    def receipt() -> Any:
        with LiveServer(fast) as server, sdk(server.url, fast) as api_client:
            return clicksend.SmsApi(api_client).view_specific_sms_receipt(ids[0])

    seen = await asyncio.to_thread(receipt)
    assert seen.data is not None and seen.data.status_code == 201


async def test_the_sender_sets_the_source_ton_and_npi(
    app: FastAPI, client: httpx.AsyncClient, fast: Settings, smsc: Smsc
) -> None:
    await send(client, us(1), sender="+61411111111")
    await send(client, us(2), sender="12345")
    async with connected(app, fast, smpp(smsc)) as dispatcher:
        await drain(dispatcher)
    sources = {s.destination.number: s.source for s in smsc.submitted}
    assert (sources["12025550001"].number, sources["12025550001"].ton) == (
        "61411111111",
        TON.INTERNATIONAL,
    )
    assert sources["12025550001"].npi == NPI.ISDN
    assert (sources["12025550002"].number, sources["12025550002"].ton) == (
        "12345",
        TON.NETWORK_SPECIFIC,
    )


async def test_a_long_gsm_message_goes_in_parts_whose_udh_reassembles_it(
    app: FastAPI, client: httpx.AsyncClient, fast: Settings, smsc: Smsc
) -> None:
    body = "Price in €: " + "x" * 280 + "{}" * 10  # 316 septets: 3 parts of <= 153
    [message_id] = await send(client, us(1), body=body)
    async with connected(app, fast, smpp(smsc)) as dispatcher:
        await drain(dispatcher)
    parts = smsc.submitted
    assert len(parts) == 3
    assert all(p.esm_class & 0x40 and p.data_coding == 0 for p in parts)
    reference = parts[0].udh[0] if parts[0].udh else None
    assert [p.udh for p in parts] == [(reference, 3, n) for n in (1, 2, 3)]
    assert "".join(p.text for p in parts) == body
    [row] = await rows(app, [message_id])
    assert row["transport_ref"] == parts[0].message_id


async def test_an_eight_part_ucs2_message_reassembles_at_the_smsc(
    app: FastAPI, client: httpx.AsyncClient, fast: Settings, smsc: Smsc
) -> None:
    body = "Привет, мир! " * 41 + "Жжжж"[: 536 - 13 * 41]
    assert len(body) == 536  # 8 parts of 67 UTF-16 units
    await fast_account_parts(app, 8)
    await send(client, us(1), body=body)
    async with connected(app, fast, smpp(smsc)) as dispatcher:
        await drain(dispatcher)
    parts = smsc.submitted
    assert [p.udh[1:] if p.udh else None for p in parts] == [(8, n) for n in range(1, 9)]
    assert {p.data_coding for p in parts} == {8}
    assert len({p.udh[0] if p.udh else None for p in parts}) == 1
    assert "".join(p.text for p in parts) == body


async def fast_account_parts(app: FastAPI, parts: int) -> None:
    from dovecote.storage.tables import accounts

    async with app.state.runtime.engine.begin() as conn:
        await conn.execute(accounts.update().values(sms_max_parts=parts))


async def test_message_payload_mode_sends_a_long_message_as_one_pdu(
    app: FastAPI, client: httpx.AsyncClient, fast: Settings, smsc: Smsc
) -> None:
    body = "x" * 300
    await send(client, us(1), body=body)
    async with connected(app, fast, smpp(smsc, long_messages="payload")) as dispatcher:
        await drain(dispatcher)
    [only] = smsc.submitted
    assert (only.payload, only.udh, only.text) == (True, None, body)


# --- SMSC answers -----------------------------------------------------------------------


async def test_throttling_defers_and_the_retry_is_delivered_once(
    app: FastAPI, client: httpx.AsyncClient, fast: Settings, smsc: Smsc
) -> None:
    ids = await send(client, us(1), us(2), us(3))
    smsc.throttle(2)
    async with connected(app, fast, smpp(smsc)) as dispatcher:
        assert await dispatcher.run_once() == 3
        assert sorted(await statuses(app, ids)) == ["queued", "queued", "sent"]
        await drain(dispatcher)
    assert await statuses(app, ids) == ["sent"] * 3
    assert sorted(s.destination.number for s in smsc.submitted) == [
        "12025550001",
        "12025550002",
        "12025550003",
    ]
    deferred = [data for i in ids for kind, data in await event_data(app, i) if kind == "deferred"]
    assert len(deferred) == 2
    assert all("ESME_RTHROTTLED" in d["reason"] for d in deferred)


async def test_the_throughput_cap_spaces_submissions(
    app: FastAPI, client: httpx.AsyncClient, fast: Settings, smsc: Smsc
) -> None:
    await send(client, *(us(n) for n in range(12)))
    async with connected(app, fast, smpp(smsc, binds=2, throughput=40)) as dispatcher:
        await drain(dispatcher)
    times = sorted(s.at for s in smsc.submitted)
    assert len(times) == 12
    # 12 submissions at 40/s span at least 11 intervals of 25 ms (scheduling jitter aside).
    assert times[-1] - times[0] >= 11 / 40 * 0.9
    assert {s.bind for s in smsc.submitted} == {1, 2}


async def test_a_permanent_error_fails_the_message_with_the_smpp_code(
    app: FastAPI, client: httpx.AsyncClient, fast: Settings, smsc: Smsc
) -> None:
    smsc.refuse("1202555", 0x0B)
    [message_id] = await send(client, us(7))
    async with connected(app, fast, smpp(smsc)) as dispatcher:
        await drain(dispatcher)
    [row] = await rows(app, [message_id])
    assert (row["status"], row["error_code"]) == ("failed", "11")
    kind, data = (await event_data(app, message_id))[-1]
    assert kind == "receipt"
    assert data["smpp_status"] == "ESME_RINVDSTADR (0x0000000B)" and data["smpp_code"] == 11
    assert smsc.submitted == []


async def test_a_refused_bind_is_a_clear_error_and_loses_no_message(
    app: FastAPI, client: httpx.AsyncClient, fast: Settings, smsc: Smsc
) -> None:
    [message_id] = await send(client, us(1))
    transport = smpp(smsc, password="wrong", bind_wait=0.2)
    async with connected(app, fast, transport, wait=False) as dispatcher:
        await until(lambda: smsc.refused_binds >= 1)
        assert await dispatcher.run_once() == 1
    [row] = await rows(app, [message_id])
    assert row["status"] == "queued" and row["attempts"] == 1
    assert "ESME_RINVPASWD" in row["error_text"]
    # The same message goes out once the credentials are right.
    async with connected(app, fast, smpp(smsc)) as dispatcher:
        await drain(dispatcher)
    assert await statuses(app, [message_id]) == ["sent"]
    assert len(smsc.submitted) == 1


async def test_a_bind_lost_mid_run_reconnects_and_sends_everything_exactly_once(
    app: FastAPI, client: httpx.AsyncClient, fast: Settings, smsc: Smsc
) -> None:
    ids = await send(client, *(us(n) for n in range(20)))
    smsc.drop_after(7)
    transport = smpp(smsc)
    async with connected(app, fast, transport) as dispatcher:
        await drain(dispatcher)
        assert transport.binds[0].binds == 2
    assert await statuses(app, ids) == ["sent"] * 20
    sent = sorted(s.destination.number for s in smsc.submitted)
    assert sent == sorted(us(n).removeprefix("+") for n in range(20))
    assert smsc.binds == 2


# --- receipts and MOs -------------------------------------------------------------------


class HoldsUntilReceipts:
    """Hands over, then waits for the SMSC's receipts to be acknowledged before returning
    its outcomes: every receipt arrives while the dispatcher still leases its row."""

    name = "smpp"

    def __init__(self, inner: SmppTransport, smsc: Smsc) -> None:
        self.inner = inner
        self.smsc = smsc

    async def send(self, jobs: Sequence[Job]) -> Sequence[Outcome]:
        outcomes = await self.inner.send(jobs)
        await until(lambda: len(self.smsc.acks) == len(jobs))
        return outcomes

    async def settle(self, jobs: Sequence[Job]) -> Sequence[Outcome]:
        return await self.inner.settle(jobs)

    async def close(self) -> None:
        await self.inner.close()


async def test_a_receipt_before_the_dispatcher_finishes_is_held_then_applied(
    app: FastAPI, client: httpx.AsyncClient, fast: Settings, smsc: Smsc
) -> None:
    ids = await send(client, us(1), us(2))
    smsc.auto_receipts("DELIVRD")
    transport = smpp(smsc, receipt_retry=0.6)  # the first retry comes after the checks
    slow = HoldsUntilReceipts(transport, smsc)
    engine = app.state.runtime.engine
    dispatcher = build_dispatcher(engine, fast, {"sms": slow, "default": slow})
    await transport.start(dispatcher.pushed())
    try:
        await until(lambda: transport.binds[0].ready.is_set())
        assert await dispatcher.run_once() == 2
        # Both receipts came before the sent outcome was written: held, not lost.
        pending = [(h["state"], h["stat"]) for h in await held(app)]
        assert pending == [("pending", "DELIVRD")] * 2
        assert await statuses(app, ids) == ["sent", "sent"]
        assert smsc.acks == [0, 0]

        async def delivered() -> bool:
            return await statuses(app, ids) == ["delivered", "delivered"]

        await eventually(delivered)
        assert await held(app) == []
    finally:
        await transport.close()


async def test_an_unmatched_receipt_is_kept_and_the_bind_goes_on(
    app: FastAPI, client: httpx.AsyncClient, fast: Settings, smsc: Smsc
) -> None:
    transport = smpp(smsc, receipt_hold=0.0)
    async with connected(app, fast, transport) as dispatcher:
        smsc.receipt("no-such-id", "DELIVRD")
        await until(lambda: smsc.acks == [0])

        async def kept() -> bool:
            return [(h["state"], h["smsc_message_id"]) for h in await held(app)] == [
                ("unmatched", "no-such-id")
            ]

        await eventually(kept)
        ids = await send(client, us(1))
        await drain(dispatcher)
        assert await statuses(app, ids) == ["sent"]
        assert transport.binds[0].binds == 1


async def test_a_duplicate_receipt_changes_nothing(
    app: FastAPI, client: httpx.AsyncClient, fast: Settings, smsc: Smsc
) -> None:
    [message_id] = await send(client, us(1))
    async with connected(app, fast, smpp(smsc)) as dispatcher:
        await drain(dispatcher)
        smsc_id = smsc.submitted[0].message_id
        smsc.receipt(smsc_id, "DELIVRD")
        smsc.receipt(smsc_id, "UNDELIV")
        await until(lambda: len(smsc.acks) == 2)
    assert await statuses(app, [message_id]) == ["delivered"]
    assert await held(app) == []


async def test_an_mo_becomes_inbound_sms_for_the_configured_account(
    app: FastAPI, client: httpx.AsyncClient, fast: Settings, smsc: Smsc
) -> None:
    account = (await client.get("/v3/account")).json()["data"]["account"]
    async with connected(app, fast, smpp(smsc, mo_account=account)):
        smsc.mo("+61411111111", "+61400000000", "Yes please")
        await until(lambda: smsc.acks == [0])
    inbound = (await client.get("/v3/sms/inbound")).json()["data"]["data"]
    assert [(m["from"], m["to"], m["body"]) for m in inbound] == [
        ("+61411111111", "+61400000000", "Yes please")
    ]


async def test_an_mo_to_a_bought_number_reaches_its_buyer_without_a_fallback_account(
    app: FastAPI, client: httpx.AsyncClient, fast: Settings, smsc: Smsc
) -> None:
    async with app.state.runtime.engine.begin() as conn:
        await inventory.import_csv(
            conn, "number,country,type,capabilities,monthly_price\n+12025550101,US,longcode,sms,1\n"
        )
    bought = await client.post("/v3/numbers/buy/+12025550101")
    assert bought.status_code == 200, bought.text
    async with connected(app, fast, smpp(smsc)):
        smsc.mo("+61411111111", "+12025550101", "To my number")
        await until(lambda: smsc.acks == [0])
    inbound = (await client.get("/v3/sms/inbound")).json()["data"]["data"]
    assert [(m["to"], m["body"]) for m in inbound] == [("+12025550101", "To my number")]
    assert await held(app) == []


async def test_an_mo_without_an_account_is_kept(app: FastAPI, fast: Settings, smsc: Smsc) -> None:
    async with connected(app, fast, smpp(smsc)):
        smsc.mo("+61411111111", "+61400000000", "Anyone?")
        await until(lambda: smsc.acks == [0])
    [kept] = await held(app)
    assert (kept["kind"], kept["state"], kept["body"]) == ("mo", "unrouted", "Anyone?")


async def test_the_worker_opens_the_binds_and_closes_them_when_it_stops(
    app: FastAPI, fast: Settings, smsc: Smsc
) -> None:
    settings = fast.model_copy(
        update={
            "transports": {"sms": "smpp"},
            "smpp_port": smsc.port,
            "smpp_system_id": "dovecote",
            "smpp_password": "secret",
            "smpp_binds": 2,
        }
    )
    runtime = app.state.runtime
    worker = wiring.build_worker(dataclasses.replace(runtime, settings=settings))
    worker.start()
    await until(lambda: smsc.binds == 2)
    smsc.receipt("unknown", "DELIVRD")  # written through the worker's Pushed
    await until(lambda: smsc.acks == [0])
    await worker.stop()
    await until(lambda: not smsc._writers)


async def test_a_long_mo_is_joined_before_it_is_recorded(
    app: FastAPI, client: httpx.AsyncClient, fast: Settings, smsc: Smsc
) -> None:
    account = (await client.get("/v3/account")).json()["data"]["account"]
    async with connected(app, fast, smpp(smsc, mo_account=account)):
        smsc.long_mo("+61411111111", "+61400000000", ["Part one, ", "part two."], 9)
        await until(lambda: smsc.acks == [0, 0])
    inbound = (await client.get("/v3/sms/inbound")).json()["data"]["data"]
    assert [m["body"] for m in inbound] == ["Part one, part two."]


async def test_enquire_link_keeps_the_bind_and_a_silent_smsc_is_reconnected(
    app: FastAPI, fast: Settings, smsc: Smsc
) -> None:
    # A second to answer: with 0.1 s, a run of the whole suite on two loaded cores once
    # took longer to answer an enquiry, and the bind was rebound before the check.
    transport = smpp(smsc, enquire_link_interval=0.05, response_timeout=1.0)
    async with connected(app, fast, transport):
        await until(lambda: smsc.enquiries >= 3)
        assert transport.binds[0].binds == 1 and transport.binds[0].ready.is_set()
        smsc.mute = True
        await until(lambda: transport.binds[0].binds == 2)
    assert smsc.binds == 2


async def test_a_bind_idle_after_traffic_is_probed_before_it_is_dropped(
    app: FastAPI, fast: Settings, smsc: Smsc
) -> None:
    """Traffic between two keep-alive checks used to leave the next check past both limits
    with no enquire_link sent: a healthy bind was dropped for silence."""
    interval, timeout = 0.3, 0.12
    transport = smpp(smsc, enquire_link_interval=interval, response_timeout=timeout)
    async with connected(app, fast, transport):
        bind = transport.binds[0]
        # Traffic, then silence past both limits; each silence starts 0.12 s later in the
        # checks' 0.3-s cycle than the last, so some start where the old checks missed.
        for _ in range(5):
            bind._last_heard = asyncio.get_running_loop().time()
            await asyncio.sleep(2 * interval + timeout)
        assert bind.binds == 1 and bind.ready.is_set()
        assert smsc.enquiries >= 5


async def test_a_message_with_no_receipt_in_time_expires(
    app: FastAPI, client: httpx.AsyncClient, fast: Settings, smsc: Smsc
) -> None:
    [message_id] = await send(client, us(1))
    async with connected(app, fast, smpp(smsc, receipt_timeout=0.0)) as dispatcher:
        await drain(dispatcher)
    [row] = await rows(app, [message_id])
    assert (row["status"], row["status_code"]) == ("expired", "301")
    assert len(smsc.submitted) == 1


async def test_an_unreadable_deliver_sm_and_an_unknown_command_leave_the_bind_up(
    app: FastAPI, client: httpx.AsyncClient, fast: Settings, smsc: Smsc
) -> None:
    good = mo_pdu("+61411111111", "+61400000000", "x")
    good.sequence_num = 77
    broken = bytearray(good.pdu())
    broken[17] = 0x09  # source TON 9 does not exist
    unknown = struct.pack("!IIII", 16, 0x00000999, 0, 78)
    transport = smpp(smsc)
    async with connected(app, fast, transport) as dispatcher:
        smsc.raw(bytes(broken))
        smsc.raw(unknown)
        await until(lambda: smsc.acks == [0])
        ids = await send(client, us(1))
        await drain(dispatcher)
        assert await statuses(app, ids) == ["sent"]
        assert transport.binds[0].binds == 1
    [kept] = await held(app)
    assert (kept["kind"], kept["state"], kept["body"]) == ("unreadable", "unmatched", broken.hex())
    assert smsc.nacks == [(0x03, 78)]


async def test_an_smsc_restarting_mid_batch_gets_every_message_exactly_once(
    app: FastAPI, client: httpx.AsyncClient, fast: Settings
) -> None:
    ids = await send(client, *(us(n) for n in range(12)))
    first, restarted = Smsc(port=free_port()), contextlib.ExitStack()
    restarted.enter_context(first.running())
    second = Smsc(port=first.port)  # the same SMSC, back on its port
    transport = smpp(first)
    with restarted:
        async with connected(app, fast, transport) as dispatcher:
            first.drop_after(5)
            assert await dispatcher.run_once() == 12  # 5 accepted, then it went down
            restarted.close()  # the server is gone: reconnects are refused meanwhile
            assert await statuses(app, ids) != ["sent"] * 12
            with second.running():
                await until(lambda: transport.binds[0].ready.is_set())
                await drain(dispatcher)
    assert await statuses(app, ids) == ["sent"] * 12
    assert len(first.submitted) == 5 and len(second.submitted) == 7
    numbers = [s.destination.number for s in first.submitted + second.submitted]
    assert sorted(numbers) == sorted(us(n).removeprefix("+") for n in range(12))


async def test_a_bind_that_is_down_does_not_hold_up_a_batch_the_others_carry(
    app: FastAPI, client: httpx.AsyncClient, fast: Settings, smsc: Smsc
) -> None:
    ids = await send(client, us(1), us(2))
    transport = smpp(smsc, binds=2, bind_wait=30.0)
    async with connected(app, fast, transport) as dispatcher:
        await transport.binds[1].close()  # one bind stops for good
        loop = asyncio.get_running_loop()
        started = loop.time()
        assert await dispatcher.run_once() == 2
        assert loop.time() - started < 5  # not the 30 s it would wait for the bind
    assert await statuses(app, ids) == ["sent", "sent"]
    assert len({s.bind for s in smsc.submitted}) == 1  # the bind that stayed


async def test_an_mo_answering_a_subaccounts_sms_is_threaded_to_it_and_theirs(
    app: FastAPI, client: httpx.AsyncClient, fast: Settings, smsc: Smsc
) -> None:
    boss = await owner(client, fast)
    sub = await subaccount(client, boss, "desk", reporting=False)
    async with as_caller(app, sub) as desk:
        [message_id] = await send(desk, "+61411111119")
    async with connected(app, fast, smpp(smsc, mo_account=boss.account_id)) as dispatcher:
        await drain(dispatcher)
        smsc.mo("+61411111119", "+61400000000", "Thanks!")
        await until(lambda: smsc.acks == [0])
    async with as_caller(app, sub) as desk:
        inbound = (await desk.get("/v3/sms/inbound")).json()["data"]["data"]
    assert [(m["body"], m["original_message_id"]) for m in inbound] == [("Thanks!", message_id)]


async def test_an_mo_for_an_account_that_does_not_exist_is_kept(
    app: FastAPI, fast: Settings, smsc: Smsc
) -> None:
    async with connected(app, fast, smpp(smsc, mo_account=999_999)):
        smsc.mo("+61411111111", "+61400000000", "Hello?")
        await until(lambda: smsc.acks == [0])
    assert [(h["kind"], h["state"]) for h in await held(app)] == [("mo", "unrouted")]


async def test_a_throttled_later_part_is_sent_again_without_repeating_the_first(
    app: FastAPI, client: httpx.AsyncClient, fast: Settings, smsc: Smsc
) -> None:
    [message_id] = await send(client, us(1), body="y" * 300)  # 2 parts
    async with connected(app, fast, smpp(smsc)) as dispatcher:
        smsc.throttle_after(1, 2)  # part 1 accepted, part 2 throttled twice
        await drain(dispatcher)
    assert await statuses(app, [message_id]) == ["sent"]
    assert [p.udh[2] if p.udh else None for p in smsc.submitted] == [1, 2]


async def test_a_submit_refused_as_not_bound_is_deferred_and_the_bind_renewed(
    app: FastAPI, client: httpx.AsyncClient, fast: Settings, smsc: Smsc
) -> None:
    smsc.refuse("1202555", 0x04)
    [message_id] = await send(client, us(1))
    transport = smpp(smsc)
    async with connected(app, fast, transport) as dispatcher:
        assert await dispatcher.run_once() == 1
        await until(lambda: transport.binds[0].binds == 2)
    [row] = await rows(app, [message_id])
    assert row["status"] == "queued" and "ESME_RINVBNDSTS" in row["error_text"]
