"""MMS composition: subject, text limits, test numbers, price as ClickSend counts it."""

from __future__ import annotations

import pytest

from dovecote.channels.mms.compose import MAX_GSM_CHARS, MAX_UNICODE_CHARS, MmsRequest, compose
from dovecote.core.errors import InvalidInput
from dovecote.core.models import Account
from dovecote.core.money import to_micros
from dovecote.pipeline.outbound import Outbound
from dovecote.pipeline.pricing import PriceBook

NOW = 1_700_000_000.0
PRICES = PriceBook.load()


def account() -> Account:
    return Account(
        id=1,
        name="a",
        billing_email="",
        billing_mobile="",
        balance_micros=10_000_000,
        currency="USD",
        country="US",
        timezone="UTC",
        active=True,
        banned=False,
        sms_max_parts=6,
        unicode_sms=True,
        settings={},
        created_at=0,
    )


def one(**values: object) -> MmsRequest:
    fields: dict[str, object] = {"to": "+14155552671", "body": "Hello", "subject": "Hi"}
    fields.update(values)
    return MmsRequest(**fields)  # type: ignore[arg-type]


def test_an_mms_is_one_message_priced_at_the_countrys_mms_price() -> None:
    [item] = compose([one(body="x" * 1200)], account(), PRICES, now=NOW)
    assert item.ok and item.parts == 1
    assert item.price_micros == to_micros(PRICES.unit_price("mms", "USD", "US"))
    assert item.price_micros != to_micros(PRICES.unit_price("sms", "USD", "US"))


@pytest.mark.parametrize("subject", [None, "", "   "])
def test_a_missing_subject_is_subject_required_and_costs_nothing(subject: str | None) -> None:
    [item] = compose([one(subject=subject)], account(), PRICES, now=NOW)
    assert item.status == "SUBJECT_REQUIRED"
    assert item.price_micros == 0


def test_a_long_subject_is_cut_to_twenty_characters() -> None:
    [item] = compose([one(subject="A subject far longer than twenty")], account(), PRICES, now=NOW)
    assert item.subject == "A subject far longer"


def test_text_is_truncated_at_1500_gsm_or_500_unicode_characters() -> None:
    [gsm, unicode] = compose(
        [one(body="a" * 2000), one(body="英" * 900)], account(), PRICES, now=NOW
    )
    assert (len(gsm.body), gsm.encoding) == (MAX_GSM_CHARS, "GSM")
    assert (len(unicode.body), unicode.encoding) == (MAX_UNICODE_CHARS, "UCS2")


@pytest.mark.parametrize(
    ("values", "status"),
    [
        ({"to": "not a number"}, "INVALID_RECIPIENT"),
        ({"body": " "}, "EMPTY_MESSAGE"),
        ({"from": "has spaces in it"}, "INVALID_SENDER_ID"),
        ({"schedule": "soon"}, "INVALID_SCHEDULE"),
        ({"list_id": "x"}, "NOT_ENOUGH_PERMISSION_TO_LIST_ID"),
    ],
)
def test_each_invalid_field_has_its_clicksend_status(
    values: dict[str, object], status: str
) -> None:
    if "from" in values:
        values = {"sender": values.pop("from")}
    [item] = compose([one(**values)], account(), PRICES, now=NOW)
    assert item.status == status


@pytest.mark.parametrize("number", ["+61411111111", "+61422222222", "+61433333333", "+61444444444"])
def test_the_spec_test_numbers_succeed_free(number: str) -> None:
    [item] = compose([one(to=number)], account(), PRICES, now=NOW)
    assert item.ok and item.is_test
    assert item.price_micros == 0


def test_a_request_holds_one_to_a_thousand_messages() -> None:
    with pytest.raises(InvalidInput):
        compose([], account(), PRICES, now=NOW)
    with pytest.raises(InvalidInput) as refused:
        compose([one()] * 1001, account(), PRICES, now=NOW)
    assert refused.value.code == "TOO_MANY_RECIPIENTS"


def test_the_throttle_tells_mms_from_sms_and_one_picture_from_another() -> None:
    [a, b] = compose([one(), one()], account(), PRICES, now=NOW, media_key="mms/1.jpg")
    [c] = compose([one()], account(), PRICES, now=NOW, media_key="mms/2.jpg")
    [d] = compose([one(subject="Other")], account(), PRICES, now=NOW, media_key="mms/1.jpg")
    assert a.body_hash == b.body_hash
    assert len({a.body_hash, c.body_hash, d.body_hash}) == 3
    sms = Outbound(channel="sms", recipient=a.recipient, body=a.body)
    assert sms.body_hash != a.body_hash
