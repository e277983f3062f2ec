"""SMS composition (`dovecote.channels.sms.compose`): validation order, sender ids, schedules, prices."""

from __future__ import annotations

import time
from dataclasses import replace
from decimal import Decimal

import pytest

from dovecote.channels.sms.compose import (
    MAX_LIST_ID,
    MAX_SCHEDULE_AHEAD,
    SmsRequest,
    compose,
    parse_list_id,
    parse_schedule,
    valid_sender,
)
from dovecote.core.errors import InvalidInput
from dovecote.core.models import Account
from dovecote.core.money import to_micros
from dovecote.pipeline.pricing import PriceBook

NOW = 1_800_000_000.0
ACCOUNT = Account(
    id=1,
    name="Test",
    billing_email="",
    billing_mobile="",
    balance_micros=0,
    currency="USD",
    country="US",
    timezone="UTC",
    active=True,
    banned=False,
    sms_max_parts=6,
    unicode_sms=False,
    settings={},
    created_at=0,
)


@pytest.fixture(scope="module")
def prices() -> PriceBook:
    return PriceBook.load()


def one(request: SmsRequest, prices: PriceBook, account: Account = ACCOUNT):  # type: ignore[no-untyped-def]
    [item] = compose([request], account, prices, now=NOW)
    return item


@pytest.mark.parametrize(
    "sender",
    ["A", "Dovecote", "DovecoteCo1", "My-Shop", "Shop_1", "A.B&C", "123", "+61411111111", "1" * 16],
)
def test_valid_sender_ids(sender: str) -> None:
    assert valid_sender(sender)


@pytest.mark.parametrize(
    "sender",
    [
        "DovecoteCo12",  # 12 characters
        "My Shop",  # a space
        "12",  # too short for a number
        "1" * 17,  # too long for a number
        "+12",
        "___",  # no letter: not an alphanumeric id
        "Shöp",  # outside the alphabet carriers accept
        "Shop!",
    ],
)
def test_invalid_sender_ids(sender: str) -> None:
    assert not valid_sender(sender)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, None),
        ("", None),
        (0, None),
        (int(NOW) - 10, None),  # the past means now
        (int(NOW), None),
        (int(NOW) + 60, int(NOW) + 60),
        (str(int(NOW) + 60), int(NOW) + 60),
        (NOW + 60.7, int(NOW) + 60),
        (f"{NOW + 60.7}", int(NOW) + 60),
        (int(NOW) + MAX_SCHEDULE_AHEAD, int(NOW) + MAX_SCHEDULE_AHEAD),
        (int(NOW) + MAX_SCHEDULE_AHEAD + 1, False),
        (int(NOW * 1000), False),  # milliseconds
        (-5, False),
        ("tomorrow", False),
        ("2027-01-01T00:00:00Z", False),
        ("nan", False),
        ("inf", False),
        ("1e400", False),
        (1e400, False),  # what json.loads makes of a number literal too big for a float
    ],
)
def test_parse_schedule(raw: int | float | str | None, expected: int | bool | None) -> None:
    assert parse_schedule(raw, NOW) == expected


def test_a_good_message_is_priced_by_parts_and_country(prices: PriceBook) -> None:
    item = one(SmsRequest(to="+12025550100", body="x" * 161, sender="Dovecote"), prices)

    assert item.status == "SUCCESS"
    assert (item.recipient, item.country) == ("+12025550100", "US")
    assert (item.parts, item.encoding) == (2, "GSM")
    assert item.price_micros == 2 * to_micros(prices.unit_price("sms", "USD", "US"))
    assert item.is_test is False
    assert item.schedule is None


def test_the_accounts_currency_prices_the_message(prices: PriceBook) -> None:
    aud = replace(ACCOUNT, currency="AUD", country="AU")

    item = one(SmsRequest(to="0412 345 678", body="G'day"), prices, aud)

    assert (item.recipient, item.country) == ("+61412345678", "AU")
    assert item.price_micros == to_micros(prices.unit_price("sms", "AUD", "AU"))


def test_a_country_without_its_own_price_pays_the_default(prices: PriceBook) -> None:
    item = one(SmsRequest(to="+254712345678", body="Jambo"), prices)  # Kenya

    assert item.country == "KE"
    assert item.price_micros == to_micros(prices.unit_price("sms", "USD", "default"))


def test_the_messages_country_beats_the_accounts(prices: PriceBook) -> None:
    item = one(SmsRequest(to="07400 123456", body="Hi", country="gb"), prices)

    assert (item.status, item.recipient, item.country) == ("SUCCESS", "+447400123456", "GB")


@pytest.mark.parametrize(
    ("request_", "status"),
    [
        # The recipient is checked first, then the body, the sender and the schedule.
        (SmsRequest(to="nope", body="", sender="Bad Sender", schedule="x"), "INVALID_RECIPIENT"),
        (SmsRequest(to=None, body="Hi"), "INVALID_RECIPIENT"),
        (SmsRequest(to="+12025550100", body="", sender="Bad Sender"), "EMPTY_MESSAGE"),
        (SmsRequest(to="+12025550100", body=None), "EMPTY_MESSAGE"),
        (
            SmsRequest(to="+12025550100", body="Hi", sender="Bad Sender", schedule="x"),
            "INVALID_SENDER_ID",
        ),
        (SmsRequest(to="+12025550100", body="Hi", schedule="x"), "INVALID_SCHEDULE"),
        (SmsRequest(to=None, body="Hi", list_id=12), "NOT_ENOUGH_PERMISSION_TO_LIST_ID"),
        (SmsRequest(to="2025550100", body="Hi", country="XX"), "INVALID_RECIPIENT"),
    ],
)
def test_the_first_problem_decides_the_status(
    prices: PriceBook, request_: SmsRequest, status: str
) -> None:
    item = one(request_, prices)

    assert item.status == status
    assert item.price_micros == 0


def test_a_test_number_is_free_but_still_counted_in_parts(prices: PriceBook) -> None:
    item = one(SmsRequest(to="+61411111111", body="y" * 200), prices)

    assert item.status == "SUCCESS"
    assert item.is_test is True
    assert item.price_micros == 0
    assert item.parts == 2
    assert item.country == "AU"


def test_the_accounts_part_limit_truncates_the_body(prices: PriceBook) -> None:
    item = one(
        SmsRequest(to="+12025550100", body="z" * 500), prices, replace(ACCOUNT, sms_max_parts=2)
    )

    assert item.parts == 2
    assert item.body == "z" * 306
    assert item.price_micros == 2 * to_micros(prices.unit_price("sms", "USD", "US"))


def test_one_non_gsm_character_roughly_doubles_the_parts(prices: PriceBook) -> None:
    gsm = one(SmsRequest(to="+12025550100", body="q" * 150 + "'"), prices)
    curly = one(SmsRequest(to="+12025550100", body="q" * 150 + "’"), prices)

    assert (gsm.encoding, gsm.parts) == ("GSM", 1)
    assert (curly.encoding, curly.parts) == ("UCS2", 3)
    assert curly.price_micros == 3 * gsm.price_micros


def test_a_future_schedule_is_kept(prices: PriceBook) -> None:
    item = one(SmsRequest(to="+12025550100", body="Later", schedule=int(NOW) + 600), prices)

    assert item.schedule == int(NOW) + 600


def test_echoed_fields_are_carried_through(prices: PriceBook) -> None:
    item = one(
        SmsRequest(
            to=" +12025550100 ",
            body="Hi",
            sender=" Dovecote ",
            custom_string="c",
            source="s",
            from_email="e@example.com",
        ),
        prices,
    )

    assert (item.recipient, item.sender) == ("+12025550100", "Dovecote")
    assert (item.custom_string, item.source, item.from_email) == ("c", "s", "e@example.com")


def test_at_most_1000_messages_and_at_least_one(prices: PriceBook) -> None:
    request = SmsRequest(to="+12025550100", body="Hi")

    assert len(compose([request] * 1000, ACCOUNT, prices, now=time.time())) == 1000
    with pytest.raises(InvalidInput) as too_many:
        compose([request] * 1001, ACCOUNT, prices, now=NOW)
    with pytest.raises(InvalidInput):
        compose([], ACCOUNT, prices, now=NOW)

    assert too_many.value.code == "TOO_MANY_RECIPIENTS"


def test_prices_are_exact_micros_not_floats(prices: PriceBook) -> None:
    item = one(SmsRequest(to="+12025550100", body="x" * 918), prices)

    assert item.parts == 6
    assert Decimal(item.price_micros) == Decimal(6) * prices.unit_price("sms", "USD", "US") * 10**6


@pytest.mark.parametrize(
    ("raw", "parsed"),
    [
        (None, None),
        ("", None),
        (12, 12),
        ("12", 12),
        (str(MAX_LIST_ID), MAX_LIST_ID),
        ("\u00b2", False),  # "²": str.isdigit() is true, int() fails
        ("\u0661\u0662", False),  # Arabic-Indic digits: int() reads them, not a list id
        (str(MAX_LIST_ID + 1), False),  # past the int32 column
        ("99999999999", False),
        (99999999999, False),
        ("9" * 5000, False),  # past int()'s digit limit
        ("-5", False),
        (-5, False),
        ("abc", False),
        (" 12", False),
        (True, False),
    ],
)
def test_a_list_id_is_ascii_digits_within_int32(raw: int | str | None, parsed: object) -> None:
    result = parse_list_id(raw)
    assert (result, type(result)) == (parsed, type(parsed))


@pytest.mark.parametrize("list_id", ["\u00b2", "99999999999", 2**31, "abc"])
def test_a_list_id_no_list_can_have_is_refused_per_message(
    prices: PriceBook, list_id: int | str
) -> None:
    item = one(SmsRequest(to="+12025550100", body="Hi", list_id=list_id), prices)

    assert (item.status, item.list_id, item.price_micros) == (
        "NOT_ENOUGH_PERMISSION_TO_LIST_ID",
        None,
        0,
    )


def test_a_valid_list_id_travels_with_a_message_to_a_recipient(prices: PriceBook) -> None:
    item = one(SmsRequest(to="+12025550100", body="Hi", list_id="12"), prices)

    assert (item.status, item.list_id) == ("SUCCESS", 12)
