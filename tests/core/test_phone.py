from __future__ import annotations

import random
from unittest import mock

import phonenumbers
import pytest

from dovecote.core import phone
from dovecote.core.phone import (
    TEST_SMS_NUMBERS,
    InvalidRecipient,
    Recipient,
    is_test_number,
    parse_recipient,
    region_and_validity,
)


@pytest.mark.parametrize(
    ("raw", "default_country", "expected"),
    [
        pytest.param("+61412345678", None, Recipient("+61412345678", "AU"), id="e164 AU"),
        pytest.param("+1 (212) 555-0100", None, Recipient("+12125550100", "US"), id="US"),
        pytest.param("+44 20 7946 0958", None, Recipient("+442079460958", "GB"), id="GB"),
        pytest.param("+86 138 0013 8000", None, Recipient("+8613800138000", "CN"), id="CN"),
        pytest.param("+1 416 555 0123", "AU", Recipient("+14165550123", "CA"), id="CA on +1"),
        pytest.param("0412 345 678", "AU", Recipient("+61412345678", "AU"), id="local AU"),
        pytest.param("0412-345-678", "au", Recipient("+61412345678", "AU"), id="lower case"),
        pytest.param("(02) 9876 5432", "AU", Recipient("+61298765432", "AU"), id="AU landline"),
        pytest.param(" 020 7946 0958 ", "GB", Recipient("+442079460958", "GB"), id="local GB"),
        pytest.param("00 61 412 345 678", "GB", Recipient("+61412345678", "AU"), id="00 IDD"),
        pytest.param("+61412345678", "US", Recipient("+61412345678", "AU"), id="e164 wins"),
    ],
)
def test_it_parses_recipients(raw: str, default_country: str | None, expected: Recipient) -> None:
    assert parse_recipient(raw, default_country) == expected


@pytest.mark.parametrize(
    ("raw", "default_country", "message"),
    [
        pytest.param("0412 345 678", None, "no default country", id="local without country"),
        pytest.param("0412 345 678", "XX", "unknown default country", id="bad country"),
        pytest.param("hello", "AU", "not a phone number", id="words"),
        pytest.param("+61 4", None, "too short", id="too short"),
        pytest.param("+999 1234567", None, "unknown country calling code", id="bad code"),
        pytest.param("+61 2 1234", None, "not a valid phone number", id="invalid AU"),
        pytest.param("+1 212 555 01001", None, "not a valid phone number", id="too long US"),
        pytest.param("+61" + "4" * 100, None, "too long", id="huge input"),
        # Valid as written, but phonenumbers reads Belarus's national prefix 8 off it and
        # the rest is not: found by the written-every-way comparison below with the fast
        # path's national-prefix check taken out.
        pytest.param("+3758107246532", None, "not a valid phone number", id="BY prefix"),
    ],
)
def test_it_rejects_invalid_numbers(raw: str, default_country: str | None, message: str) -> None:
    with pytest.raises(InvalidRecipient, match=message):
        parse_recipient(raw, default_country)


def test_invalid_recipient_is_a_value_error() -> None:
    assert issubclass(InvalidRecipient, ValueError)


def test_each_failure_raises_a_fresh_exception() -> None:
    errors = []
    for _ in range(2):
        with pytest.raises(InvalidRecipient) as info:
            parse_recipient("+61 2 1234", None)
        errors.append(info.value)
    assert errors[0] is not errors[1]


@pytest.mark.parametrize("number", sorted(TEST_SMS_NUMBERS))
def test_clicksend_test_numbers_are_accepted(number: str) -> None:
    recipient = parse_recipient(number, None)
    assert recipient.e164 == number
    assert is_test_number(recipient.e164)


@pytest.mark.parametrize(
    ("number", "country"),
    [
        ("+61411111111", "AU"),
        ("+14055555555", "US"),
        ("+447777777777", "GB"),
        ("+8615555555555", "CN"),
    ],
)
def test_test_numbers_are_accepted_even_if_phonenumbers_calls_them_invalid(
    number: str, country: str
) -> None:
    # Simulates a metadata update declaring the numbers invalid; the country
    # then comes from the calling code, not from the default.
    phone._parse_cached.cache_clear()
    try:
        with mock.patch.object(phone, "national_region_and_validity", return_value=(None, False)):
            assert parse_recipient(number, "NZ") == Recipient(number, country)
            with pytest.raises(InvalidRecipient):
                parse_recipient("+61412345678", None)
    finally:
        phone._parse_cached.cache_clear()


def test_a_local_format_test_number_is_recognised() -> None:
    assert is_test_number(parse_recipient("0411 111 111", "AU").e164)


def test_ordinary_numbers_are_not_test_numbers() -> None:
    assert not is_test_number("+61412345678")


@pytest.mark.parametrize(
    ("default_country", "country"), [(None, ""), ("AU", "AU")], ids=["no default", "default"]
)
def test_a_non_geographic_number_takes_the_default_country(
    default_country: str | None, country: str
) -> None:
    assert parse_recipient("+800 1234 5678", default_country) == Recipient("+80012345678", country)


def _numbers_to_compare() -> list[phonenumbers.PhoneNumber]:
    rng = random.Random(20261130)  # fixed: the same sample on every run
    numbers: list[phonenumbers.PhoneNumber] = []
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in phonenumbers.PhoneNumberType.values():
            example = phonenumbers.example_number_for_type(region, kind)
            if example is not None:
                numbers.append(example)
    for code in sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE):
        for _ in range(60):
            digits = "".join(rng.choice("0123456789") for _ in range(rng.randint(4, 15)))
            try:
                numbers.append(phonenumbers.parse(f"+{code}{digits}", None))
            except phonenumbers.NumberParseException:
                continue
    return numbers


def test_the_fast_validation_gives_phonenumbers_own_verdicts() -> None:
    numbers = _numbers_to_compare()
    assert len(numbers) > 12_000
    valid = 0
    for number in numbers:
        expected = (
            phonenumbers.region_code_for_number(number),
            phonenumbers.is_valid_number(number),
        )
        assert region_and_validity(number) == expected, number
        valid += expected[1]
    assert valid > 1_500  # the sample exercises both verdicts


@pytest.mark.parametrize("default_country", [None, "US", "GB"])
def test_the_e164_fast_path_answers_exactly_as_the_full_parse(default_country: str | None) -> None:
    """Every number of the sample in E.164: where the fast path answers, it answers what
    phonenumbers' full reading does; where it cannot be sure, it leaves it to that."""
    answered = 0
    for number in _numbers_to_compare():
        raw = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        fast = phone._canonical(raw, default_country)
        if fast is None:
            continue
        answered += 1
        assert fast == phone._parse(raw, default_country), raw
    assert answered > 1_500  # most valid numbers take the fast path


@pytest.mark.parametrize(
    "raw",
    [
        "+61 412 345 678",  # punctuation
        "+610412345678",  # a leading zero after the country code
        "+78001234567",  # Russia's national prefix 8 could be read off
        "+80012345678",  # non-geographic
        "+1415555",  # not a valid number: the full path words the refusal
        "+999123456789",  # no such country code
    ],
)
def test_what_the_fast_path_cannot_be_sure_of_takes_the_full_path(raw: str) -> None:
    assert phone._canonical(raw, "US") is None


def _reference(raw: str, default_country: str | None) -> Recipient | None:
    """`parse_recipient` written with phonenumbers' own calls alone: no fast path, no
    precompiled validation. None where it refuses the number."""
    try:
        number = phonenumbers.parse(raw, default_country)
    except phonenumbers.NumberParseException:
        return None
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    if not (phonenumbers.is_valid_number(number) or is_test_number(e164)):
        return None
    country = phonenumbers.region_code_for_number(number)
    if country is None or country in ("001", "ZZ"):
        country = phonenumbers.region_code_for_country_code(number.country_code or 0)
    if country in ("001", "ZZ"):
        country = default_country or ""
    return Recipient(e164, country)


def _written_variants(rng: random.Random) -> list[tuple[str, str | None]]:
    """Every region's example numbers of every type, each also with one digit changed,
    one dropped and one added (near misses: valid or invalid by a hair), written as
    clients write them: E.164 and national (read with the number's region as the default
    country), and one of: E.164 read with another default, international with spaces or
    with dashes, national with no default."""
    numbers: list[tuple[phonenumbers.PhoneNumber, str]] = []
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in phonenumbers.PhoneNumberType.values():
            example = phonenumbers.example_number_for_type(region, kind)
            if example is None:
                continue
            numbers.append((example, region))
            nsn = phonenumbers.national_significant_number(example)
            at = rng.randrange(len(nsn))
            for digits in (
                nsn[:at] + rng.choice("0123456789") + nsn[at + 1 :],
                nsn[:at] + nsn[at + 1 :],
                nsn[:at] + rng.choice("0123456789") + nsn[at:],
            ):
                try:
                    near = phonenumbers.parse(f"+{example.country_code}{digits}", None)
                except phonenumbers.NumberParseException:
                    continue
                numbers.append((near, region))
    written: list[tuple[str, str | None]] = []
    formats = phonenumbers.PhoneNumberFormat
    for number, region in numbers:
        e164 = phonenumbers.format_number(number, formats.E164)
        international = phonenumbers.format_number(number, formats.INTERNATIONAL)
        national = phonenumbers.format_number(number, formats.NATIONAL)
        other = rng.choice(
            [
                (e164, rng.choice(("US", "GB", "AU", "IN"))),
                (international, None),
                (international.replace(" ", "-"), region),
                (national, None),
            ]
        )
        written += [(e164, None), (national, region), other]
    return written


def test_parse_recipient_answers_as_phonenumbers_on_numbers_written_every_way() -> None:
    """Fast path and precompiled validation together, against phonenumbers alone: the
    same E.164 form, the same country, the same refusals."""
    rng = random.Random(20261130)  # fixed: the same corpus on every run
    corpus = _written_variants(rng)
    assert len(corpus) > 15_000
    fast = valid = 0
    for raw, default_country in corpus:
        outcome = phone._parse_cached.__wrapped__(raw, default_country)  # uncached
        got = outcome if isinstance(outcome, Recipient) else None
        assert got == _reference(raw, default_country), (raw, default_country)
        fast += phone._canonical(raw, default_country) is not None
        valid += got is not None
    assert fast > 2_000  # the fast path answered for many of them,
    assert valid - fast > 2_000  # the full path for many others,
    assert len(corpus) - valid > 2_000  # and many were refused
