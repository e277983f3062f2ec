"""`pipeline.pricing.client_price`: the reseller's margin, rounded up, for its clients only."""

from __future__ import annotations

from dovecote.pipeline.pricing import MARGIN_KEY, client_price


def test_a_client_pays_the_margin_rounded_up_to_a_micro_unit() -> None:
    assert client_price(29_000, {MARGIN_KEY: 1000}) == 31_900  # 10 %
    assert client_price(1, {MARGIN_KEY: 1}) == 2  # 1.0001 micro-units round up
    assert client_price(33_333, {MARGIN_KEY: 5050}) == 50_167  # 50.5 %: 50166.165 → 50167


def test_everyone_else_pays_the_price_book() -> None:
    assert client_price(29_000, {}) == 29_000
    assert client_price(29_000, {MARGIN_KEY: 0}) == 29_000
    assert client_price(29_000, {MARGIN_KEY: "1000"}) == 29_000  # only the integer we wrote
    assert client_price(0, {MARGIN_KEY: 1000}) == 0  # free stays free (test numbers)
