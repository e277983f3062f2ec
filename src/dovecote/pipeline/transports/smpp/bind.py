"""One long-lived SMPP transceiver bind: connect, bind, keep alive, reconnect.

`run()` loops until `close()`: connect and `bind_transceiver`, then read PDUs until the
connection drops (or an `enquire_link` goes unanswered), then wait a backoff that
doubles from `reconnect_min` to `reconnect_max` and start again. `submit()` sends one
`submit_sm` and waits for its `submit_sm_resp`; the caller bounds how many are
outstanding (the transport runs `window` lanes per bind). A `deliver_sm` is handed to
`on_deliver` (one at a time, in arrival order) and answered only once that returns: a
receipt is acknowledged after it is written, so an SMSC whose receipt we lost in a
crash sends it again.

Frames are read by their 16-octet header (length, command, status, sequence); every
body is built and parsed by aiosmpplib's PDU classes.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import math
import struct
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiosmpplib import (
    BindTransceiver,
    DeliverSm,
    DeliverSmResp,
    EnquireLink,
    EnquireLinkResp,
    GenericNack,
    PduHeader,
    SmppCommand,
    SmppCommandStatus,
    SmppMessage,
    SubmitSm,
    SubmitSmResp,
    Unbind,
    UnbindResp,
)

log = logging.getLogger("dovecote.smpp")

HEADER = struct.Struct("!IIII")
MAX_PDU = 70_000  # a 64 KiB message_payload and change; anything larger is garbage

ESME_ROK = 0x00
ESME_RX_T_APPN = 0x64  # "temporary application error": the SMSC delivers it again


class BindLost(ConnectionError):
    """The bind went away with a request outstanding, or is not up."""


class BindRefused(ConnectionError):
    def __init__(self, status: int) -> None:
        super().__init__(f"bind refused by the SMSC: {status_name(status)}")
        self.status = status


def status_name(status: int) -> str:
    try:
        name = SmppCommandStatus(status).name
    except ValueError:
        name = "vendor-specific"
    return f"{name} (0x{status:08X})"


@dataclass(frozen=True, slots=True)
class Config:
    host: str
    port: int
    system_id: str
    password: str
    system_type: str = ""
    enquire_link_interval: float = 30.0
    response_timeout: float = 10.0
    reconnect_min: float = 0.5
    reconnect_max: float = 30.0


@dataclass(frozen=True, slots=True)
class SubmitResult:
    status: int
    message_id: str


# Given the parsed deliver_sm (None if it cannot be parsed) and its raw PDU; returns the
# deliver_sm_resp status.
DeliverHandler = Callable[[DeliverSm | None, bytes], Awaitable[int]]


class UnknownCommand(ValueError):
    def __init__(self, command: int, sequence: int) -> None:
        super().__init__(f"unknown command 0x{command:08X}")
        self.sequence = sequence


class Bind:
    def __init__(self, config: Config, name: str, on_deliver: DeliverHandler) -> None:
        self.config = config
        self.name = name
        self.on_deliver = on_deliver
        self.ready = asyncio.Event()
        self.last_error: str = "not connected yet"
        self.binds = 0  # successful binds so far (a reconnect makes it 2)
        self._closing = False
        self._writer: asyncio.StreamWriter | None = None
        self._pending: dict[int, asyncio.Future[SubmitResult]] = {}
        self._sequence = itertools.count(1)
        # deliver_sm PDUs, handled one at a time in arrival order: two receipts for one
        # message (ENROUTE then DELIVRD, or a resend) must not race each other.
        self._inbox: asyncio.Queue[tuple[PduHeader, bytes]] = asyncio.Queue()
        self._last_heard = 0.0
        self._closed = asyncio.Event()
        self._out: list[bytes] = []
        # Outstanding submit_sm by sequence number, with the time its answer is due by.
        self._deadlines: dict[int, float] = {}

    # --- sending --------------------------------------------------------------------

    def _next_sequence(self) -> int:
        number = next(self._sequence)
        if number >= 0x7FFFFFFF:
            self._sequence = itertools.count(1)
        return number

    def _send(self, message: SmppMessage) -> None:
        """Queue one PDU; everything queued in one event-loop tick leaves in one write
        (one system call for a whole window of submit_sm, not one each)."""
        if self._writer is None:
            raise BindLost(f"{self.name}: not bound ({self.last_error})")
        self._out.append(message.pdu())
        if len(self._out) == 1:
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        if self._writer is not None and self._out:
            self._writer.write(b"".join(self._out))
        self._out.clear()

    async def submit(self, message: SubmitSm) -> SubmitResult:
        """Send one `submit_sm`; raises BindLost if the bind is down or drops first, and
        TimeoutError if the SMSC does not answer within the response timeout."""
        if not self.ready.is_set():
            raise BindLost(f"{self.name}: not bound ({self.last_error})")
        sequence = self._next_sequence()
        message.sequence_num = sequence
        loop = asyncio.get_running_loop()
        future: asyncio.Future[SubmitResult] = loop.create_future()
        self._pending[sequence] = future
        # No timer per submit_sm (a measurable cost at thousands a second): the keeper
        # task fails the futures whose deadline has passed.
        self._deadlines[sequence] = loop.time() + self.config.response_timeout
        try:
            self._send(message)
            writer = self._writer
            if writer is not None and writer.transport.get_write_buffer_size() > 1 << 16:
                await writer.drain()
            return await future
        finally:
            self._pending.pop(sequence, None)
            self._deadlines.pop(sequence, None)

    # --- the session ----------------------------------------------------------------

    async def run(self) -> None:
        delay = self.config.reconnect_min
        while not self._closing:
            try:
                reader = await self._connect()
                delay = self.config.reconnect_min
                await self._session(reader)
            except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError) as exc:
                self.last_error = str(exc) or type(exc).__name__
            except Exception as exc:  # a bug must not end the bind for good: reconnect
                log.exception("%s: session failed", self.name)
                self.last_error = f"{type(exc).__name__}: {exc}"
            finally:
                self._drop()
            if self._closing:
                break
            log.warning("%s: %s; reconnecting in %.1fs", self.name, self.last_error, delay)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closed.wait(), delay)
            delay = min(delay * 2, self.config.reconnect_max)

    async def _connect(self) -> asyncio.StreamReader:
        config = self.config
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(config.host, config.port), config.response_timeout
        )
        self._writer = writer
        request = BindTransceiver(
            sequence_num=self._next_sequence(),
            system_id=config.system_id,
            password=config.password,
            system_type=config.system_type,
        )
        writer.write(request.pdu())
        header, _ = await asyncio.wait_for(_read(reader), config.response_timeout)
        if header.smpp_command != SmppCommand.BIND_TRANSCEIVER_RESP:
            raise BindRefused(SmppCommandStatus.ESME_RBINDFAIL)
        if header.command_status not in (ESME_ROK, SmppCommandStatus.ESME_RALYBND):
            raise BindRefused(header.command_status)
        self.binds += 1
        self.last_error = ""
        self.ready.set()
        log.info("%s: bound to %s:%d as %s", self.name, config.host, config.port, config.system_id)
        return reader

    async def _session(self, reader: asyncio.StreamReader) -> None:
        loop = asyncio.get_running_loop()
        self._last_heard = loop.time()
        helpers = [
            asyncio.create_task(self._keep_alive()),
            asyncio.create_task(self._deliveries()),
        ]
        try:
            while not self._closing:
                try:
                    header, pdu = await _read(reader)
                except UnknownCommand as exc:
                    # Answered, as SMPP asks, and the bind goes on.
                    log.warning("%s: %s from the SMSC", self.name, exc)
                    self._send(
                        GenericNack(
                            sequence_num=exc.sequence,
                            command_status=SmppCommandStatus.ESME_RINVCMDID,
                        )
                    )
                    continue
                self._last_heard = loop.time()
                if not self._handle(header, pdu):
                    self.last_error = "the SMSC unbound"
                    return
            self._closing_unbind()
        finally:
            for helper in helpers:
                helper.cancel()
            for helper in helpers:
                with contextlib.suppress(asyncio.CancelledError):
                    await helper
            # Unanswered deliver_sm die with the connection: the SMSC sends them again.
            while not self._inbox.empty():
                self._inbox.get_nowait()
                self._inbox.task_done()

    def _handle(self, header: PduHeader, pdu: bytes) -> bool:
        """One PDU from the SMSC; False when the session must end."""
        command = header.smpp_command
        if command in (SmppCommand.SUBMIT_SM_RESP, SmppCommand.GENERIC_NACK):
            future = self._pending.get(header.sequence_num)
            if future is not None and not future.done():
                message_id = ""
                if command == SmppCommand.SUBMIT_SM_RESP and header.command_status == ESME_ROK:
                    response = SubmitSmResp.from_pdu(pdu, header)
                    assert isinstance(response, SubmitSmResp)
                    message_id = response.message_id
                future.set_result(SubmitResult(int(header.command_status), message_id))
        elif command == SmppCommand.DELIVER_SM:
            self._inbox.put_nowait((header, pdu))
        elif command == SmppCommand.ENQUIRE_LINK:
            self._send(EnquireLinkResp(sequence_num=header.sequence_num))
        elif command == SmppCommand.UNBIND:
            self._send(UnbindResp(sequence_num=header.sequence_num))
            return False
        elif command not in (SmppCommand.ENQUIRE_LINK_RESP, SmppCommand.UNBIND_RESP):
            self._send(GenericNack(sequence_num=header.sequence_num))
        return True

    async def _deliveries(self) -> None:
        while True:
            header, pdu = await self._inbox.get()
            try:
                await self._deliver(header, pdu)
            finally:
                self._inbox.task_done()

    async def _deliver(self, header: PduHeader, pdu: bytes) -> None:
        message: DeliverSm | None = None
        try:
            parsed = DeliverSm.from_pdu(pdu, header)
            assert isinstance(parsed, DeliverSm)
            message = parsed
        except (ValueError, IndexError, UnicodeDecodeError, struct.error):
            log.warning("%s: deliver_sm %d cannot be parsed", self.name, header.sequence_num)
        try:
            status = await self.on_deliver(message, pdu)
        except Exception:
            # Never the bind's end: answer "try again later" and let the SMSC redeliver.
            log.exception("%s: deliver_sm %d not handled", self.name, header.sequence_num)
            status = ESME_RX_T_APPN
        with contextlib.suppress(ConnectionError):
            self._send(
                DeliverSmResp(
                    sequence_num=header.sequence_num, command_status=SmppCommandStatus(status)
                )
            )

    async def _keep_alive(self) -> None:
        # Every tick: a bind silent for `interval` is probed once (enquire_link), and one
        # still silent `response_timeout` later is dropped. (Probing only every
        # `interval` dropped healthy idle binds: traffic just after one check left the
        # next check past both limits at once, with no probe ever sent.)
        loop = asyncio.get_running_loop()
        interval = self.config.enquire_link_interval
        tick = min(interval, self.config.response_timeout / 4)
        probed_at = -math.inf
        while True:
            await asyncio.sleep(tick)
            now = loop.time()
            for sequence, deadline in list(self._deadlines.items()):
                future = self._pending.get(sequence)
                if deadline <= now and future is not None and not future.done():
                    future.set_exception(TimeoutError("no submit_sm_resp in time"))
            silent = now - self._last_heard
            if silent >= interval + self.config.response_timeout:
                log.warning("%s: no answer for %.0fs; dropping the bind", self.name, silent)
                if self._writer is not None:
                    self._writer.close()
                return
            if silent >= interval and probed_at < self._last_heard:
                probed_at = now
                with contextlib.suppress(ConnectionError):
                    self._send(EnquireLink(sequence_num=self._next_sequence()))

    def _closing_unbind(self) -> None:
        with contextlib.suppress(ConnectionError):
            self._send(Unbind(sequence_num=self._next_sequence()))

    def _drop(self) -> None:
        self.ready.clear()
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        reason = self.last_error or "bind closed"
        for future in self._pending.values():
            if not future.done():
                future.set_exception(BindLost(f"{self.name}: {reason} before submit_sm_resp"))
        self._pending.clear()
        self._deadlines.clear()
        self._out.clear()

    def reset(self) -> None:
        """Drop the connection; `run()` binds again after its backoff."""
        self.last_error = "reset after ESME_RINVBNDSTS"
        if self._writer is not None:
            self._writer.close()

    async def close(self) -> None:
        """Unbind and stop reconnecting; deliveries being written are awaited first."""
        self._closing = True
        self._closed.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._inbox.join(), self.config.response_timeout)
        if self._writer is not None and self.ready.is_set():
            self._closing_unbind()
            self._flush()
            with contextlib.suppress(ConnectionError):
                await self._writer.drain()
            self._writer.close()


async def _read(reader: asyncio.StreamReader) -> tuple[PduHeader, bytes]:
    head = await reader.readexactly(HEADER.size)
    length, command, status, sequence = HEADER.unpack(head)
    if not HEADER.size <= length <= MAX_PDU:
        raise ValueError(f"bad PDU length {length}")
    body = await reader.readexactly(length - HEADER.size)
    try:
        known_status = SmppCommandStatus(status)
    except ValueError:  # a vendor-specific error code: kept as a number
        known_status = status
    try:
        known_command = SmppCommand(command)
    except ValueError:
        raise UnknownCommand(command, sequence) from None
    return PduHeader(length, known_command, known_status, sequence), head + body
