"""What one message becomes as submit_sm PDUs, and what a receipt says: no network."""

from __future__ import annotations

import pytest
from aiosmpplib import NPI, TON, DeliverSm, GSM7BitPackedCodec, OptionalParam, PhoneNumber
from aiosmpplib.state import MESSAGE_STATE, RECEIPTED_MESSAGE_ID

from dovecote.pipeline.transports.smpp import pdus, receipts


@pytest.mark.parametrize(
    ("sender", "number", "ton", "npi"),
    [
        ("Dovecote", "Dovecote", TON.ALPHANUMERIC, NPI.UNKNOWN),
        ("12345", "12345", TON.NETWORK_SPECIFIC, NPI.UNKNOWN),
        ("+61411111111", "61411111111", TON.INTERNATIONAL, NPI.ISDN),
        ("61411111111", "61411111111", TON.INTERNATIONAL, NPI.ISDN),
        ("", "", TON.UNKNOWN, NPI.UNKNOWN),
    ],
)
def test_the_source_address_takes_its_ton_and_npi_from_the_senders_form(
    sender: str, number: str, ton: TON, npi: NPI
) -> None:
    assert pdus.address(sender) == PhoneNumber(number, ton, npi)


def test_a_gsm_message_of_160_septets_is_one_part_and_161_are_two() -> None:
    assert len(pdus.split("a" * 160, gsm=True)) == 1
    assert [len(p) for p in pdus.split("a" * 161, gsm=True)] == [153, 8]
    # An extension character costs two septets: 80 of them fill a lone part.
    assert len(pdus.split("€" * 80, gsm=True)) == 1
    assert len(pdus.split("€" * 81, gsm=True)) == 2


def test_an_escape_pair_or_surrogate_pair_is_never_split_between_parts() -> None:
    text = "a" * 152 + "€" + "b" * 20
    first, second = pdus.split(text, gsm=True)
    assert first == "a" * 152 and second.startswith("€")
    emoji = "x" * 66 + "😀" + "y" * 10
    assert pdus.split(emoji, gsm=False)[1].startswith("😀")


def test_a_long_ucs2_message_is_cut_into_67_unit_parts_with_one_reference() -> None:
    encoded = pdus.encode("Ж" * 140, packed=False, long="udh", reference=42)
    assert (encoded.encoding, encoded.data_coding) == ("ucs2", 8)
    assert [p[:6] for p in encoded.parts] == [bytes((5, 0, 3, 42, 3, n)) for n in (1, 2, 3)]
    assert [len(p) - 6 for p in encoded.parts] == [134, 134, 12]
    assert b"".join(p[6:] for p in encoded.parts).decode("utf-16-be") == "Ж" * 140


def test_packed_gsm_parts_carry_the_fill_bit_after_the_udh() -> None:
    text = "Hello [world] " * 20  # 320 septets with the brackets' escapes: 3 parts
    encoded = pdus.encode(text, packed=True, long="udh", reference=7)
    assert encoded.data_coding == 0 and len(encoded.parts) == 3
    joined = ""
    for part in encoded.parts:
        assert len(part) <= 140  # one SMS: 140 octets of user data
        body = part[6:]
        # Remove the one fill bit, then the library's packed codec reads it back.
        unshifted = int.from_bytes(body, "little") >> 1
        septets = (len(body) * 8 - 1) // 7
        raw = unshifted.to_bytes((septets * 7 + 7) // 8, "little")
        joined += GSM7BitPackedCodec().decode(raw)[0][:septets]
    assert joined.rstrip("@") == text


def test_a_short_message_has_no_udh_and_payload_mode_sends_one_pdu() -> None:
    [single] = pdus.submits("Dovecote", "+61411111111", "Hi", packed=False, long="udh", reference=1)
    assert single.esm_class == 0 and single.registered_delivery == 1
    [whole] = pdus.submits("Dovecote", "+1", "x" * 400, packed=False, long="payload", reference=1)
    assert whole.message_payload == "x" * 400 and not whole.short_message


def receipt_of(text: str, tlvs: dict[int, int | str] | None = None) -> DeliverSm:
    params = [OptionalParam(tag, value) for tag, value in (tlvs or {}).items()]
    return DeliverSm(short_message=text, esm_class=0x04, optional_params=params)


def test_a_receipt_is_read_from_its_tlvs_before_its_text() -> None:
    message = receipt_of(
        "id:text-id sub:001 dlvrd:000 stat:UNDELIV err:005 text:",
        {RECEIPTED_MESSAGE_ID: "tlv-id", MESSAGE_STATE: 2},
    )
    parsed = receipts.parse(message)
    assert (parsed.message_id, parsed.stat, parsed.err) == ("tlv-id", "DELIVRD", "005")
    text_only = receipts.parse(receipt_of("id:abc stat:EXPIRED err:017"))
    assert (text_only.message_id, text_only.stat, text_only.err) == ("abc", "EXPIRED", "017")


@pytest.mark.parametrize(
    ("stat", "err", "kind", "code"),
    [
        ("DELIVRD", "000", "delivered", None),
        ("EXPIRED", "017", "expired", 17),
        ("REJECTD", "000", "failed", 302),
        ("UNDELIV", "005", "failed", 5),
        ("DELETED", "", "failed", None),
        ("UNDELIV", "301", "failed", None),  # a status code is not passed off as an error
    ],
)
def test_a_final_receipt_maps_to_a_clicksend_outcome(
    stat: str, err: str, kind: str, code: int | None
) -> None:
    outcome = receipts.outcome(receipts.Receipt("id", stat, err, ""))
    assert outcome is not None
    assert (outcome.kind, outcome.error_code) == (kind, code)
    assert outcome.detail == {"smpp_stat": stat, "smpp_err": err}


def test_an_interim_receipt_means_nothing_yet() -> None:
    assert receipts.outcome(receipts.Receipt("id", "ENROUTE", "", "")) is None
    assert receipts.outcome(receipts.Receipt("id", "ACCEPTD", "", "")) is None
