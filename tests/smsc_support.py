"""An SMSC simulator: a real SMPP 3.4 server on a loopback port, for tests and the bench.

Built from aiosmpplib's PDU classes, as the transport is. It runs its own event loop
in a thread (`Smsc.running()`) or in a process (`python tests/smsc_support.py PORT`,
which the benchmark uses so the two sides do not share one interpreter). Tests steer it:

    throttle(n)            answer the next n submit_sm with ESME_RTHROTTLED
    refuse(prefix, code)   answer submit_sm to destinations starting with prefix with code
    drop_after(n)          after n more accepted submit_sm, hang up (the rest unread)
    auto_receipts(stat)    send a receipt for each accepted submit_sm at once
    receipt(...), mo(...)  push a deliver_sm on the newest bind
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import socket
import struct
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from aiosmpplib import (
    NPI,
    TON,
    BindTransceiver,
    BindTransceiverResp,
    DeliverSm,
    EnquireLinkResp,
    GSM7BitCodec,
    OptionalParam,
    PduHeader,
    PhoneNumber,
    SmppCommand,
    SmppCommandStatus,
    SubmitSm,
    SubmitSmResp,
    UnbindResp,
)
from aiosmpplib.state import (
    MESSAGE_STATE,
    RECEIPTED_MESSAGE_ID,
    SAR_MSG_REF_NUM,
    SAR_SEGMENT_SEQNUM,
    SAR_TOTAL_SEGMENTS,
)

HEADER = struct.Struct("!IIII")
STATES = {"DELIVRD": 2, "EXPIRED": 3, "DELETED": 4, "UNDELIV": 5, "UNKNOWN": 7, "REJECTD": 8}


@dataclass
class Submitted:
    message_id: str
    source: PhoneNumber
    destination: PhoneNumber
    esm_class: int
    data_coding: int
    text: str
    udh: tuple[int, int, int] | None  # (reference, total, sequence) when concatenated
    payload: bool  # the text came as message_payload
    bind: int
    at: float


@dataclass
class Smsc:
    system_id: str = "dovecote"
    password: str = "secret"
    host: str = "127.0.0.1"
    port: int = 0
    submitted: list[Submitted] = field(default_factory=list)
    acks: list[int] = field(default_factory=list)  # deliver_sm_resp statuses
    nacks: list[tuple[int, int]] = field(default_factory=list)  # generic_nack (status, seq)
    binds: int = 0
    refused_binds: int = 0
    enquiries: int = 0  # enquire_link received
    mute: bool = False  # stop answering enquire_link (a hung SMSC)
    receipts_for: str | None = None  # auto_receipts: the stat to send
    # The benchmark's mode: answer submit_sm from its header alone, record nothing, so
    # the simulator's own parsing does not cap what the sender can do.
    fast: bool = False
    accepted: int = 0  # submit_sm answered in fast mode (the benchmark's delivered count)
    _throttle: int = 0
    _throttle_after: tuple[int, int] | None = None
    _refuse: dict[str, int] = field(default_factory=dict)
    _drop_after: int | None = None
    _writers: list[asyncio.StreamWriter] = field(default_factory=list)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    _sequence: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    _loop: asyncio.AbstractEventLoop | None = None
    _server: asyncio.Server | None = None

    # --- steering (from any thread) -------------------------------------------------

    def throttle(self, count: int) -> None:
        self._throttle = count

    def throttle_after(self, accepted: int, count: int) -> None:
        """Accept `accepted` more submit_sm, then throttle the next `count`."""
        self._throttle_after = (accepted, count)

    def refuse(self, prefix: str, code: int) -> None:
        self._refuse[prefix] = code

    def drop_after(self, count: int) -> None:
        self._drop_after = count

    def auto_receipts(self, stat: str | None = "DELIVRD") -> None:
        self.receipts_for = stat

    def receipt(self, message_id: str, stat: str = "DELIVRD", err: str = "000") -> None:
        self._call(self._push(receipt_pdu(message_id, stat, err)))

    def mo(self, sender: str, recipient: str, text: str) -> None:
        self._call(self._push(mo_pdu(sender, recipient, text)))

    def long_mo(self, sender: str, recipient: str, parts: list[str], reference: int) -> None:
        """A concatenated MO: one deliver_sm per part, each with its UDH."""
        for number, text in enumerate(parts, start=1):
            message = mo_pdu(sender, recipient, text)
            message.esm_class = 0x40
            udh = bytes((5, 0, 3, reference, len(parts), number))
            message.set_encoded_message(udh + GSM7BitCodec().encode(text)[0])
            self._call(self._push(message))

    def raw(self, pdu: bytes) -> None:
        """Push any bytes as they are (a malformed or unknown PDU)."""

        async def push() -> None:
            self._writers[-1].write(pdu)

        self._call(push())

    def drop(self) -> None:
        self._call(self._drop())

    def _call(self, coro: object) -> None:
        assert self._loop is not None
        asyncio.run_coroutine_threadsafe(coro, self._loop).result(5)  # type: ignore[arg-type]

    # --- the server -----------------------------------------------------------------

    async def serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._server = await asyncio.start_server(self._client, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        await self._drop()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _drop(self) -> None:
        for writer in list(self._writers):
            writer.close()
        self._writers.clear()

    async def _push(self, message: DeliverSm) -> None:
        writer = self._writers[-1]
        message.sequence_num = next(self._sequence)
        writer.write(message.pdu())
        await writer.drain()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        bind = 0
        try:
            while True:
                head = await reader.readexactly(HEADER.size)
                length, command, status, sequence = HEADER.unpack(head)
                pdu = head + await reader.readexactly(length - HEADER.size)
                header = PduHeader(
                    length, SmppCommand(command), SmppCommandStatus(status), sequence
                )
                if header.smpp_command == SmppCommand.BIND_TRANSCEIVER:
                    request = BindTransceiver.from_pdu(pdu, header)
                    assert isinstance(request, BindTransceiver)
                    ok = (request.system_id, request.password) == (self.system_id, self.password)
                    code = SmppCommandStatus.ESME_ROK if ok else SmppCommandStatus.ESME_RINVPASWD
                    writer.write(BindTransceiverResp(sequence, code, system_id="smsc-sim").pdu())
                    if not ok:
                        self.refused_binds += 1
                        await writer.drain()
                        return
                    self.binds += 1
                    bind = self.binds
                    self._writers.append(writer)
                elif header.smpp_command == SmppCommand.SUBMIT_SM and self.fast:
                    writer.write(SubmitSmResp(sequence, message_id=f"f{sequence}").pdu())
                    self.accepted += 1
                    continue
                elif header.smpp_command == SmppCommand.SUBMIT_SM:
                    if not self._submit(pdu, header, writer, bind):
                        # Hang up as an SMSC that goes down does: what it answered reaches
                        # the client, and what it had not read yet it never accepted.
                        await writer.drain()
                        writer.write_eof()
                        while await reader.read(1 << 16):
                            pass
                        return
                elif header.smpp_command == SmppCommand.ENQUIRE_LINK:
                    self.enquiries += 1
                    if not self.mute:
                        writer.write(EnquireLinkResp(sequence).pdu())
                elif header.smpp_command == SmppCommand.DELIVER_SM_RESP:
                    self.acks.append(status)
                elif header.smpp_command == SmppCommand.GENERIC_NACK:
                    self.nacks.append((status, sequence))
                elif header.smpp_command == SmppCommand.UNBIND:
                    writer.write(UnbindResp(sequence).pdu())
                    await writer.drain()
                    return
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            return
        finally:
            if writer in self._writers:
                self._writers.remove(writer)
            writer.close()

    def _submit(
        self, pdu: bytes, header: PduHeader, writer: asyncio.StreamWriter, bind: int
    ) -> bool:
        """Answer one submit_sm; False: drop the connections now (drop_after ran out)."""
        request = SubmitSm.from_pdu(pdu, header, "gsm0338")
        assert isinstance(request, SubmitSm)
        sequence = header.sequence_num
        if self._throttle_after is not None:
            accepted, count = self._throttle_after
            if accepted == 0:
                self._throttle, self._throttle_after = count, None
            else:
                self._throttle_after = (accepted - 1, count)
        if self._throttle > 0:
            self._throttle -= 1
            writer.write(SubmitSmResp(sequence, SmppCommandStatus.ESME_RTHROTTLED).pdu())
            return True
        for prefix, code in self._refuse.items():
            if request.destination.number.startswith(prefix):
                writer.write(SubmitSmResp(sequence, SmppCommandStatus(code)).pdu())
                return True
        message_id = f"sim{next(self._ids):08d}"
        tlvs = {param.tag: param.value for param in request.optional_params or []}
        udh = None
        if request.esm_class & 0x40:
            udh = (
                int(tlvs[SAR_MSG_REF_NUM]),
                int(tlvs[SAR_TOTAL_SEGMENTS]),
                int(tlvs[SAR_SEGMENT_SEQNUM]),
            )
        self.submitted.append(
            Submitted(
                message_id=message_id,
                source=request.source,
                destination=request.destination,
                esm_class=request.esm_class,
                data_coding=8 if request.encoding == "ucs2" else 0,
                text=request.short_message or request.message_payload,
                udh=udh,
                payload=bool(request.message_payload),
                bind=bind,
                at=time.monotonic(),
            )
        )
        writer.write(SubmitSmResp(sequence, message_id=message_id).pdu())
        if self.receipts_for is not None:
            receipt = receipt_pdu(message_id, self.receipts_for, "000")
            receipt.sequence_num = next(self._sequence)
            writer.write(receipt.pdu())
        if self._drop_after is not None:
            self._drop_after -= 1
            if self._drop_after <= 0:
                self._drop_after = None
                return False
        return True

    # --- running it -----------------------------------------------------------------

    @contextlib.contextmanager
    def running(self) -> Iterator[Smsc]:
        """Serve in a thread of its own until the block ends."""
        started = threading.Event()
        loop = asyncio.new_event_loop()

        def main() -> None:
            asyncio.set_event_loop(loop)
            loop.run_until_complete(self.serve())
            started.set()
            loop.run_forever()

        thread = threading.Thread(target=main, name="smsc-sim", daemon=True)
        thread.start()
        started.wait(5)
        try:
            yield self
        finally:
            asyncio.run_coroutine_threadsafe(self.stop(), loop).result(5)
            loop.call_soon_threadsafe(loop.stop)
            thread.join(5)
            loop.close()


def receipt_pdu(message_id: str, stat: str, err: str) -> DeliverSm:
    text = f"id:{message_id} sub:001 dlvrd:001 submit date:2611300000 done date:2611300000 stat:{stat} err:{err} text:"
    return DeliverSm(
        short_message=text,
        source=PhoneNumber("61411111111", TON.INTERNATIONAL, NPI.ISDN),
        destination=PhoneNumber("DOVECOTE", TON.ALPHANUMERIC, NPI.UNKNOWN),
        esm_class=0x04,
        registered_delivery=0,
        optional_params=[
            OptionalParam(RECEIPTED_MESSAGE_ID, message_id),
            OptionalParam(MESSAGE_STATE, STATES.get(stat, 7)),
        ],
    )


def mo_pdu(sender: str, recipient: str, text: str) -> DeliverSm:
    return DeliverSm(
        short_message=text,
        source=PhoneNumber(sender.removeprefix("+"), TON.INTERNATIONAL, NPI.ISDN),
        destination=PhoneNumber(recipient.removeprefix("+"), TON.INTERNATIONAL, NPI.ISDN),
        registered_delivery=0,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def until(predicate: Callable[[], bool], seconds: float = 5.0) -> None:
    """Poll `predicate` (every 10 ms) until it holds; fail the test past `seconds`."""
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


def main(argv: list[str]) -> None:
    """`python tests/smsc_support.py PORT`: serve until killed (the benchmark's SMSC).
    Each line written to its standard input is answered with the number of submit_sm
    accepted so far, so a benchmark can count what reached the SMSC end to end."""
    smsc = Smsc(port=int(argv[1]), fast=True)

    def answer() -> None:
        for _ in sys.stdin:
            print(smsc.accepted, flush=True)

    threading.Thread(target=answer, name="smsc-count", daemon=True).start()

    async def forever() -> None:
        await smsc.serve()
        print("ready", flush=True)
        await asyncio.Event().wait()

    asyncio.run(forever())


if __name__ == "__main__":
    main(sys.argv)
