"""The `smpp` transport: SMS to an SMSC over SMPP 3.4 transceiver binds.

`start()` opens `binds` binds (each reconnects by itself, with backoff) and the loop that
retries held receipts; `close()` unbinds. A batch is spread over `window` lanes per
bind, so at most `window` `submit_sm` are outstanding on a bind; every `submit_sm` of
the connector first passes one pacer, which spaces them `1 / throughput` seconds apart.

submit_sm_resp mapping:
    ESME_ROK                          sent (transport_ref = the SMSC's message id)
    ESME_RTHROTTLED, ESME_RMSGQFUL    deferred, and the whole connector pauses
                                      `throttle_pause` seconds
    ESME_RSYSERR, ESME_RX_T_APPN,     deferred (retried with the dispatcher's backoff)
    no answer, bind lost
    ESME_RINVBNDSTS                   deferred, and that bind reconnects
    anything else                     failed; the SMPP code is the event's error_code
                                      and `smpp_status` names it

A long message goes out as several `submit_sm` (see `pdus`); it is `sent` when all are
accepted, and its `transport_ref` is the first part's id, whose receipt decides the
message's status (the other parts' receipts are acknowledged and ignored). A throttled
later part waits out the pause and is sent again (up to 5 times); if a later part is
deferred otherwise (bind lost) the message is retried whole, and a handset may see its
first parts twice. A later part refused for good fails the message.

Receipts and MOs arrive as `deliver_sm` on any bind and are written out of band
(`receipts`, `pipeline.pushed`) before the SMSC gets its `deliver_sm_resp`.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

from aiosmpplib import TON, DeliverSm, SubmitSm
from aiosmpplib.state import SAR_MSG_REF_NUM, SAR_SEGMENT_SEQNUM, SAR_TOTAL_SEGMENTS

from dovecote.files.store import FileStore
from dovecote.pipeline import status as st
from dovecote.pipeline.pushed import Pushed
from dovecote.pipeline.transports.base import Job, Outcome, Reply
from dovecote.pipeline.transports.smpp import pdus, receipts
from dovecote.pipeline.transports.smpp.bind import (
    ESME_ROK,
    ESME_RX_T_APPN,
    Bind,
    BindLost,
    Config,
    status_name,
)
from dovecote.settings import Settings

log = logging.getLogger("dovecote.smpp")

THROTTLED = frozenset({0x58, 0x14})  # ESME_RTHROTTLED, ESME_RMSGQFUL
TEMPORARY = frozenset({0x08, 0x64})  # ESME_RSYSERR, ESME_RX_T_APPN
NOT_BOUND = 0x04  # ESME_RINVBNDSTS
_PART_RETRIES = 5  # throttled answers a later part of a long message waits out
_SECONDARY_IDS = 100_000  # part ids of long messages remembered, to ignore their receipts


class Pacer:
    """Spaces `submit_sm` at most `rate` a second over all binds; `pause` holds them all."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self._next = 0.0

    def pause(self, seconds: float) -> None:
        self._next = max(self._next, asyncio.get_running_loop().time() + seconds)

    async def wait(self) -> None:
        now = asyncio.get_running_loop().time()
        at = max(now, self._next)
        self._next = at + self.interval
        if at > now:
            await asyncio.sleep(at - now)


class SmppTransport:
    name = "smpp"

    def __init__(
        self,
        config: Config,
        *,
        binds: int = 1,
        window: int = 16,
        throughput: float = 0.0,
        bind_wait: float = 5.0,
        throttle_pause: float = 1.0,
        long_messages: pdus.LongMode = "udh",
        gsm_packed: bool = False,
        mo_account: int | None = None,
        receipt_hold: float = 600.0,
        receipt_retry: float = 1.0,
        receipt_timeout: float = 72 * 3600,
        channel: str = "sms",
    ) -> None:
        self.config = config
        self.window = window
        self.bind_wait = bind_wait
        self.throttle_pause = throttle_pause
        self.long_messages = long_messages
        self.gsm_packed = gsm_packed
        self.mo_account = mo_account
        self.receipt_hold = receipt_hold
        self.receipt_retry = receipt_retry
        self.receipt_timeout = receipt_timeout
        self.channel = channel
        self.pacer = Pacer(throughput)
        self.binds = [
            Bind(config, f"smpp[{index}]", self._on_deliver) for index in range(max(1, binds))
        ]
        self.pushed: Pushed | None = None
        self._references = itertools.cycle(range(256))
        self._secondary: OrderedDict[str, None] = OrderedDict()
        self._mo_parts: dict[tuple[str, str, int], dict[int, str]] = {}
        self._tasks: list[asyncio.Task[None]] = []

    @classmethod
    def from_settings(cls, settings: Settings, files: FileStore) -> SmppTransport:
        config = Config(
            host=settings.smpp_host,
            port=settings.smpp_port,
            system_id=settings.smpp_system_id,
            password=settings.smpp_password,
            system_type=settings.smpp_system_type,
            enquire_link_interval=settings.smpp_enquire_link_interval,
            response_timeout=settings.smpp_response_timeout,
            reconnect_min=settings.smpp_reconnect_min,
            reconnect_max=settings.smpp_reconnect_max,
        )
        return cls(
            config,
            binds=settings.smpp_binds,
            window=settings.smpp_window,
            throughput=settings.smpp_throughput,
            bind_wait=settings.smpp_bind_wait,
            throttle_pause=settings.smpp_throttle_pause,
            long_messages=settings.smpp_long_messages,
            gsm_packed=settings.smpp_gsm_packed,
            mo_account=settings.smpp_mo_account,
            receipt_hold=settings.smpp_receipt_hold,
            receipt_retry=settings.smpp_receipt_retry,
            receipt_timeout=settings.worker_receipt_timeout,
        )

    @property
    def smsc(self) -> str:
        return f"{self.config.host}:{self.config.port}"

    # --- lifecycle ------------------------------------------------------------------

    async def start(self, pushed: Pushed | None = None) -> None:
        """Open the binds (in the background: an SMSC that is down delays nothing) and,
        given somewhere to write them, the loop that retries held receipts."""
        self.pushed = pushed
        self._tasks = [asyncio.create_task(bind.run(), name=bind.name) for bind in self.binds]
        if pushed is not None:
            self._tasks.append(asyncio.create_task(self._retry_held(), name="smpp-receipts"))

    async def close(self) -> None:
        for bind in self.binds:
            await bind.close()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []

    async def _retry_held(self) -> None:
        assert self.pushed is not None
        while True:
            await asyncio.sleep(self.receipt_retry)
            try:
                await receipts.retry_held(self.pushed, self.receipt_hold)
            except Exception:  # the database went away, say: try again next round
                log.exception("retrying held SMPP receipts failed")

    # --- sending --------------------------------------------------------------------

    async def send(self, jobs: Sequence[Job]) -> Sequence[Outcome]:
        outcomes: list[Outcome | None] = [None] * len(jobs)
        queue = iter(range(len(jobs)))
        taken = asyncio.Event()  # every job has been taken by some lane

        async def lane(bind: Bind) -> None:
            while not taken.is_set():
                if not bind.ready.is_set() and not await self._up_or_taken(bind, taken):
                    return  # this bind stays down: the other binds' lanes go on
                index = next(queue, None)
                if index is None:
                    taken.set()
                    return
                outcomes[index] = await self._send_one(bind, jobs[index])

        # Spread over the binds: each takes a fair share before any takes more.
        lanes = min(self.window, -(-len(jobs) // len(self.binds)))
        await asyncio.gather(*(lane(bind) for bind in self.binds for _ in range(lanes)))
        down = "; ".join(f"{bind.name}: {bind.last_error}" for bind in self.binds)
        return [
            outcome or self._deferred(job, f"no SMPP bind is up ({down})")
            for job, outcome in zip(jobs, outcomes, strict=True)
        ]

    async def _up_or_taken(self, bind: Bind, taken: asyncio.Event) -> bool:
        """Wait for `bind` to come up; False if it does not within `bind_wait`, or if the
        other binds took every job meanwhile (a down bind must not hold up the batch)."""
        waits = [asyncio.ensure_future(bind.ready.wait()), asyncio.ensure_future(taken.wait())]
        try:
            await asyncio.wait(waits, timeout=self.bind_wait, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiting in waits:
                waiting.cancel()
        return bind.ready.is_set() and not taken.is_set()

    async def settle(self, jobs: Sequence[Job]) -> Sequence[Outcome]:
        # Receipts are pushed; a message is settled only when none came in time.
        return [
            Outcome("expired", error_code=None, error_text="No receipt from the SMSC in time")
            for _ in jobs
        ]

    def _build(self, job: Job) -> list[SubmitSm]:
        return pdus.submits(
            job.sender,
            job.recipient,
            job.body,
            packed=self.gsm_packed,
            long=self.long_messages,
            reference=next(self._references),
        )

    async def _send_one(self, bind: Bind, job: Job) -> Outcome:
        try:
            parts = self._build(job)
        except ValueError as exc:
            return Outcome("failed", error_text=f"cannot be sent over SMPP: {exc}")
        ids: list[str] = []
        tries = 0
        for part in parts:
            while True:
                await self.pacer.wait()
                try:
                    result = await bind.submit(part)
                except BindLost as exc:
                    return self._deferred(job, str(exc))
                except (OSError, TimeoutError) as exc:
                    return self._deferred(job, f"{bind.name}: no submit_sm_resp ({exc!r})")
                if result.status not in THROTTLED:
                    break
                self.pacer.pause(self.throttle_pause)
                tries += 1
                # Once a part is accepted, retrying the message whole would show the
                # handset those parts twice: a later part waits out the pause instead.
                if not ids or tries > _PART_RETRIES:
                    return self._deferred(job, status_name(result.status), result.status)
            if result.status == ESME_ROK:
                ids.append(result.message_id)
                continue
            if result.status == NOT_BOUND:
                # The SMSC no longer counts this session as bound: bind again.
                bind.reset()
                return self._deferred(job, status_name(result.status), result.status)
            if result.status in TEMPORARY:
                return self._deferred(job, status_name(result.status), result.status)
            return self._failed(job, result.status)
        self._remember(ids[1:])
        return Outcome(
            "sent",
            transport_ref=ids[0],
            follow_up_in=self.receipt_timeout,
            detail=self._detail(job, smsc_message_id=ids[0], parts=len(ids)),
        )

    def _remember(self, secondary: list[str]) -> None:
        for message_id in secondary:
            self._secondary[message_id] = None
        while len(self._secondary) > _SECONDARY_IDS:
            self._secondary.popitem(last=False)

    def _detail(self, job: Job, **extra: Any) -> dict[str, Any]:
        return {"smsc": self.smsc, "attempt_num": job.attempts + 1, **extra}

    def _deferred(self, job: Job, reason: str, code: int | None = None) -> Outcome:
        extra = {} if code is None else {"smpp_status": status_name(code), "smpp_code": code}
        return Outcome("deferred", error_text=reason, detail=self._detail(job, **extra))

    def _failed(self, job: Job, code: int) -> Outcome:
        name = status_name(code)
        return Outcome(
            "failed",
            # A code that happens to be a ClickSend status code would be read as one.
            error_code=None if code in st.RECEIPT_CODES else code,
            error_text=f"submit_sm refused: {name}",
            detail=self._detail(job, smpp_status=name, smpp_code=code),
        )

    # --- what the SMSC pushes -------------------------------------------------------

    async def _on_deliver(self, message: DeliverSm | None, pdu: bytes) -> int:
        pushed = self.pushed
        if pushed is None:
            log.warning("deliver_sm with nowhere to write it; the SMSC will resend it")
            return ESME_RX_T_APPN
        if message is None:
            # Resending would not make it readable: keep its bytes and acknowledge.
            async with pushed.engine.begin() as conn:
                await receipts.hold_unreadable(conn, pdu)
            return ESME_ROK
        if message.is_receipt():
            receipt = receipts.parse(message)
            if receipt.message_id in self._secondary:
                return ESME_ROK  # a later part of a long message: its first part decides
            async with pushed.engine.begin() as conn:
                if await receipts.apply(pushed, conn, receipt) == "held":
                    await receipts.hold(conn, receipt)
            return ESME_ROK
        reply = self._mo(message)
        if reply is None:
            return ESME_ROK  # one part of a long MO; the last one records it whole
        async with pushed.engine.begin() as conn:
            # The number's owner takes it; failing that, the connector's MO account.
            taken = await pushed.inbound(conn, self.channel, self.mo_account, reply)
            if not taken:
                log.warning("MO from %s to %s has no account; kept", reply.sender, reply.recipient)
                await receipts.hold_mo(conn, reply)
        return ESME_ROK

    def _mo(self, message: DeliverSm) -> Reply | None:
        source, dest = message.source, message.destination
        sender = ("+" if source.ton == TON.INTERNATIONAL else "") + source.number
        recipient = ("+" if dest.ton == TON.INTERNATIONAL else "") + dest.number
        text = message.short_message or message.message_payload
        if not message.is_segmented():
            return Reply(sender=sender, recipient=recipient, body=text)
        tlvs = {param.tag: param.value for param in message.optional_params or []}
        key = (sender, recipient, int(tlvs.get(SAR_MSG_REF_NUM, 0)))
        total = int(tlvs.get(SAR_TOTAL_SEGMENTS, 1))
        parts = self._mo_parts.setdefault(key, {})
        parts[int(tlvs.get(SAR_SEGMENT_SEQNUM, 1))] = text
        if len(parts) < total:
            return None
        del self._mo_parts[key]
        return Reply(
            sender=sender, recipient=recipient, body="".join(parts[n] for n in sorted(parts))
        )
