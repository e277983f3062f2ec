from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dovecote.core.money import MICROS_PER_UNIT, from_micros, to_micros


@pytest.mark.parametrize(
    ("amount", "micros"),
    [
        ("0", 0),
        ("0.0530", 53_000),
        ("0.000001", 1),
        ("1", 1_000_000),
        ("12.5", 12_500_000),
        ("-0.0290", -29_000),
        ("1E+2", 100_000_000),
        ("0.100000000", 100_000),  # trailing zeros past six places are fine
        ("123456789012345678901234567890.123456", 123456789012345678901234567890123456),
    ],
)
def test_it_converts_decimals_to_micros_exactly(amount: str, micros: int) -> None:
    assert to_micros(Decimal(amount)) == micros


@pytest.mark.parametrize("amount", ["0.0000001", "0.1234567", "NaN", "Infinity", "-Infinity"])
def test_it_refuses_amounts_it_cannot_represent_exactly(amount: str) -> None:
    with pytest.raises(ValueError):
        to_micros(Decimal(amount))


@pytest.mark.parametrize(
    ("micros", "text"),
    [
        (0, "0.000000"),
        (53_000, "0.053000"),
        (-1, "-0.000001"),
        (10**40, "1" + "0" * 34 + ".000000"),
    ],
)
def test_it_converts_micros_to_six_place_decimals(micros: int, text: str) -> None:
    assert str(from_micros(micros)) == text


def test_there_are_a_million_micros_in_a_unit() -> None:
    assert to_micros(Decimal(1)) == MICROS_PER_UNIT


@given(st.integers())
def test_micros_round_trip_through_decimal(micros: int) -> None:
    assert to_micros(from_micros(micros)) == micros


@given(st.decimals(allow_nan=False, allow_infinity=False, places=6))
def test_six_place_decimals_round_trip_through_micros(amount: Decimal) -> None:
    assert from_micros(to_micros(amount)) == amount
