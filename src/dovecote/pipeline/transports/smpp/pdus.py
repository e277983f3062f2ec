"""One message as `submit_sm` PDUs: alphabet, data_coding, concatenation, TON/NPI.

The PDUs themselves are aiosmpplib's (`SubmitSm.pdu()`), and so are the GSM 03.38 and
UCS-2 codecs; this module decides what goes into them:

    alphabet     GSM 03.38 when every character has a GSM code (data_coding 0, the SMSC
                 default alphabet, packed or not per `smpp_gsm_packed`), else UCS-2
                 (data_coding 8). One curly quote makes the whole message UCS-2.
    long text    split into parts of 153 septets / 67 UTF-16 units, each with a 6-octet
                 UDH (IEI 0, an 8-bit reference, total, sequence) and esm_class UDHI;
                 or, with `smpp_long_messages=payload`, one PDU whose whole text is the
                 `message_payload` TLV (the SMSC splits it).
    source       alphanumeric sender: TON 5 / NPI 0; a short code (≤ 8 digits, no +):
                 TON 3 / NPI 0; anything else: international, TON 1 / NPI 1, no "+".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from aiosmpplib import NPI, TON, GSM7BitCodec, GSM7BitPackedCodec, PhoneNumber, SubmitSm
from aiosmpplib.codec import GSM_EXTENDED_ENCODE_MAP

LongMode = Literal["udh", "payload"]

UDHI = 0x40  # esm_class bit: short_message starts with a user data header
DATA_CODING_DEFAULT = 0x00  # SMSC default alphabet (GSM 03.38 here)
DATA_CODING_UCS2 = 0x08

_GSM_SINGLE, _GSM_PART = 160, 153  # septets; a part loses 7 to the UDH
_UCS2_SINGLE, _UCS2_PART = 70, 67  # UTF-16 code units; a part loses 3

_gsm = GSM7BitCodec()
_gsm_packed = GSM7BitPackedCodec()


@dataclass(frozen=True, slots=True)
class Encoded:
    encoding: Literal["gsm0338", "gsm0338_packed", "ucs2"]  # aiosmpplib's codec names
    data_coding: int
    parts: tuple[bytes, ...]  # each part's short_message, UDH included when concatenated
    payload: bytes | None = None  # the message_payload TLV's value instead of parts


def address(sender: str) -> PhoneNumber:
    """The source address of `sender`, with the TON/NPI its form implies."""
    text = sender.strip()
    if not text:
        return PhoneNumber("", TON.UNKNOWN, NPI.UNKNOWN)  # the SMSC's default sender
    digits = text.removeprefix("+")
    if not digits.isdigit():
        return PhoneNumber(text[:11], TON.ALPHANUMERIC, NPI.UNKNOWN)
    if not text.startswith("+") and len(digits) <= 8:
        return PhoneNumber(digits, TON.NETWORK_SPECIFIC, NPI.UNKNOWN)
    return PhoneNumber(digits[:20], TON.INTERNATIONAL, NPI.ISDN)


def destination(recipient: str) -> PhoneNumber:
    return PhoneNumber(recipient.strip().removeprefix("+")[:20], TON.INTERNATIONAL, NPI.ISDN)


def is_gsm(text: str) -> bool:
    return GSM7BitCodec.is_gsm_text(text)


def _units(char: str, gsm: bool) -> int:
    if gsm:
        return 2 if char in GSM_EXTENDED_ENCODE_MAP else 1  # ESC + code
    return 2 if ord(char) > 0xFFFF else 1  # a surrogate pair


def split(text: str, gsm: bool) -> list[str]:
    """`text` cut into the parts it is sent as; never splits an escape or surrogate pair."""
    single, part = (_GSM_SINGLE, _GSM_PART) if gsm else (_UCS2_SINGLE, _UCS2_PART)
    units = [_units(char, gsm) for char in text]
    if sum(units) <= single:
        return [text]
    parts: list[str] = []
    start = used = 0
    for index, size in enumerate(units):
        if used + size > part:
            parts.append(text[start:index])
            start, used = index, 0
        used += size
    parts.append(text[start:])
    return parts


def _encode(text: str, gsm: bool, packed: bool, fill_bits: int = 0) -> bytes:
    if not gsm:
        return text.encode("utf-16-be")
    if not packed:
        return _gsm.encode(text)[0]
    septets = len(_gsm.to_gsm_codes(text))
    octets = _gsm_packed.encode(text)[0]
    if not fill_bits:
        return octets
    # After a UDH the septets start on a septet boundary counted from the start of the
    # user data: a 6-octet UDH (48 bits) is followed by one fill bit.
    shifted = int.from_bytes(octets, "little") << fill_bits
    return shifted.to_bytes((septets * 7 + fill_bits + 7) // 8, "little")


def encode(text: str, *, packed: bool, long: LongMode, reference: int) -> Encoded:
    """`text` ready for `submit_sm`; `reference` (0-255) ties concatenated parts together."""
    gsm = is_gsm(text)
    name: Literal["gsm0338", "gsm0338_packed", "ucs2"] = (
        ("gsm0338_packed" if packed else "gsm0338") if gsm else "ucs2"
    )
    coding = DATA_CODING_DEFAULT if gsm else DATA_CODING_UCS2
    pieces = split(text, gsm)
    if len(pieces) == 1:
        return Encoded(name, coding, (_encode(text, gsm, packed),))
    if long == "payload":
        return Encoded(name, coding, (), payload=_encode(text, gsm, packed))
    total = len(pieces)
    parts = tuple(
        bytes((5, 0, 3, reference & 0xFF, total, number)) + _encode(piece, gsm, packed, fill_bits=1)
        for number, piece in enumerate(pieces, start=1)
    )
    return Encoded(name, coding, parts)


def submits(
    sender: str,
    recipient: str,
    text: str,
    *,
    packed: bool,
    long: LongMode,
    reference: int,
    receipt: bool = True,
) -> list[SubmitSm]:
    """The `submit_sm` PDUs (unnumbered) that carry one message, in order."""
    encoded = encode(text, packed=packed, long=long, reference=reference)
    source, dest = address(sender), destination(recipient)
    common = {
        "source": source,
        "destination": dest,
        "registered_delivery": 1 if receipt else 0,
        "encoding": encoded.encoding,
        "auto_message_payload": False,
    }
    if encoded.payload is not None:
        # message_payload is encoded by the library from text; it is always whole.
        return [SubmitSm(message_payload=text, **common)]  # type: ignore[arg-type]
    concatenated = len(encoded.parts) > 1
    pdus = []
    for part in encoded.parts:
        # short_message is only a placeholder: the encoded part (UDH and all) replaces it.
        pdu = SubmitSm(short_message=" ", esm_class=UDHI if concatenated else 0, **common)  # type: ignore[arg-type]
        pdu.set_encoded_message(part)
        pdus.append(pdu)
    return pdus
