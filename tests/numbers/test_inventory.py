"""The inventory file: every line checked before any is kept, terms updated, owners kept."""

from __future__ import annotations

import pytest

from dovecote.core.errors import InvalidInput
from dovecote.numbers import inventory


def test_a_file_is_parsed_into_normalized_rows() -> None:
    rows = inventory.parse_csv(
        "Number,Country,Type,Capabilities,Monthly_Price,Connector\n"
        "(202) 555-0101,us,LongCode,SMS;mms,2.5,smpp-us\n"
        '+61481070206,AU,mobile,"sms,voice",18.59,\n'
    )

    assert rows == [
        {
            "number": "+12025550101",
            "country": "US",
            "number_type": "longcode",
            "capabilities": "mms,sms",
            "price_monthly_micros": 2_500_000,
            "connector": "smpp-us",
        },
        {
            "number": "+61481070206",
            "country": "AU",
            "number_type": "mobile",
            "capabilities": "sms,voice",
            "price_monthly_micros": 18_590_000,
            "connector": None,
        },
    ]


@pytest.mark.parametrize(
    ("line", "field"),
    [
        ("not-a-number,US,longcode,sms,1.00,", "number"),
        ("+12025550101,XX,longcode,sms,1.00,", "country"),
        ("+12025550101,US,long code,sms,1.00,", "type"),
        ("+12025550101,US,longcode,telepathy,1.00,", "capabilities"),
        ("+12025550101,US,longcode,,1.00,", "capabilities"),
        ("+12025550101,US,longcode,sms,-1,", "monthly_price"),
        ("+12025550101,US,longcode,sms,free,", "monthly_price"),
        ("+12025550101,US,longcode,sms,0.0000001,", "monthly_price"),
        ("+12025550101,US,longcode,sms,1.00,bad name!", "connector"),
    ],
)
def test_a_bad_line_is_refused_by_its_line_number(line: str, field: str) -> None:
    text = f"number,country,type,capabilities,monthly_price,connector\n+12025550199,US,longcode,sms,1,\n{line}\n"

    with pytest.raises(InvalidInput) as caught:
        inventory.parse_csv(text)

    assert caught.value.field == field
    assert caught.value.message.startswith("line 3:")


def test_a_file_without_the_columns_or_with_a_number_twice_is_refused() -> None:
    with pytest.raises(InvalidInput, match="missing: capabilities, monthly_price"):
        inventory.parse_csv("number,country,type\n+12025550101,US,longcode\n")
    with pytest.raises(InvalidInput, match="listed twice"):
        inventory.parse_csv(
            "number,country,type,capabilities,monthly_price\n"
            "+12025550101,US,longcode,sms,1\n2025550101,US,longcode,sms,1\n"
        )


@pytest.mark.parametrize(
    ("search", "kind", "pattern"),
    [
        ("202", 0, "+1202%"),
        ("555", 1, "+1%555%"),
        ("0101", 2, "+1%0101"),
        ("55", None, "+1%55%"),
        (None, 1, None),
    ],
)
def test_a_search_matches_the_national_digits(
    search: str | None, kind: int | None, pattern: str | None
) -> None:
    assert inventory.search_pattern("US", search, kind) == pattern


def test_a_search_takes_digits_and_a_known_strategy() -> None:
    with pytest.raises(InvalidInput):
        inventory.search_pattern("US", "5%", 1)
    with pytest.raises(InvalidInput):
        inventory.search_pattern("US", "55", 3)
