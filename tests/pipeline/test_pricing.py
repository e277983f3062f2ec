from __future__ import annotations

import json
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest

from dovecote.core.money import to_micros
from dovecote.pipeline.pricing import (
    BatchPrices,
    PriceBook,
    PriceBookError,
    UnknownChannel,
    UnknownCurrency,
)

CURRENCIES = ("USD", "AUD", "EUR", "GBP", "NZD", "CAD")
CHANNELS = (
    "sms",
    "mms",
    "voice",
    "email",
    "fax",
    "post",
    "post-colour",
    "post-priority",
    "postcard",
    "post-direct-mail",
)


@pytest.fixture(scope="module")
def book() -> PriceBook:
    return PriceBook.load()


def _write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "prices.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_it_prices_a_listed_country(book: PriceBook) -> None:
    assert book.unit_price("sms", "USD", "US") == Decimal("0.0290")
    assert book.unit_price("sms", "USD", "AU") == Decimal("0.0530")


def test_it_falls_back_to_the_currency_default_for_unlisted_countries(book: PriceBook) -> None:
    assert book.unit_price("sms", "USD", "ZW") == Decimal("0.0900")
    assert book.unit_price("sms", "USD", "") == Decimal("0.0900")


def test_lookups_ignore_case(book: PriceBook) -> None:
    assert book.unit_price("SMS", "usd", "us") == book.unit_price("sms", "USD", "US")


@pytest.mark.parametrize("channel", CHANNELS)
@pytest.mark.parametrize("currency", CURRENCIES)
def test_every_packaged_currency_has_an_exact_positive_default(
    book: PriceBook, channel: str, currency: str
) -> None:
    price = book.unit_price(channel, currency, "")
    assert price > 0
    assert price == price.quantize(Decimal("0.0001"))
    to_micros(price)


def test_email_is_priced_per_message(book: PriceBook) -> None:
    assert book.unit_price("email", "USD", "US") == Decimal("0.0010")


def test_it_raises_unknown_currency_as_a_key_error(book: PriceBook) -> None:
    with pytest.raises(UnknownCurrency):
        book.unit_price("sms", "XYZ", "US")
    with pytest.raises(KeyError):
        book.currency_info("XYZ")


def test_it_raises_unknown_channel(book: PriceBook) -> None:
    with pytest.raises(UnknownChannel):
        book.unit_price("pigeon", "USD", "US")


def test_currency_info_matches_clicksends_currency_object(book: PriceBook) -> None:
    assert book.currency_info("USD") == {
        "currency_name_short": "USD",
        "currency_prefix_d": "$",
        "currency_prefix_c": "¢",
        "currency_name_long": "US Dollars",
    }
    assert book.currency_info("gbp")["currency_prefix_c"] == "p"
    assert book.currency_info("EUR")["currency_prefix_d"] == "€"


def test_it_lists_its_currencies(book: PriceBook) -> None:
    assert set(book.currencies) == set(CURRENCIES)


def test_an_override_file_replaces_only_the_entries_it_names(tmp_path: Path) -> None:
    path = _write(tmp_path, {"channels": {"sms": {"USD": {"US": "0.0100", "ZW": "0.2000"}}}})
    book = PriceBook.load(str(path))
    assert book.unit_price("sms", "USD", "US") == Decimal("0.0100")
    assert book.unit_price("sms", "USD", "ZW") == Decimal("0.2000")
    assert book.unit_price("sms", "USD", "AU") == Decimal("0.0530")  # untouched
    assert book.unit_price("sms", "AUD", "US") == PriceBook.load().unit_price("sms", "AUD", "US")


def test_an_override_file_can_replace_a_default(tmp_path: Path) -> None:
    book = PriceBook.load(_write(tmp_path, {"channels": {"sms": {"EUR": {"default": "0.1"}}}}))
    assert book.unit_price("sms", "EUR", "ZW") == Decimal("0.1")


def test_an_override_file_can_add_a_complete_currency(tmp_path: Path) -> None:
    data = {
        "currencies": {"JPY": {"name_long": "Japanese Yen", "prefix_d": "¥", "prefix_c": "¥"}},
        "channels": {channel: {"JPY": {"default": "10"}} for channel in CHANNELS},
    }
    book = PriceBook.load(_write(tmp_path, data))
    assert book.unit_price("voice", "JPY", "JP") == Decimal(10)
    assert book.currency_info("JPY")["currency_name_long"] == "Japanese Yen"


JPY = {"name_long": "Japanese Yen", "prefix_d": "¥", "prefix_c": "¥"}


def test_a_rated_currency_takes_every_price_from_its_base_by_the_rate(
    tmp_path: Path, book: PriceBook
) -> None:
    data = {"currencies": {"JPY": JPY}, "rates": {"JPY": {"from": "USD", "rate": "151.2345"}}}
    rated = PriceBook.load(_write(tmp_path, data))
    for channel in CHANNELS:
        for country in ("US", "AU", "GB", "ZW", ""):
            usd = book.unit_price(channel, "USD", country)
            expected = (usd * Decimal("151.2345")).quantize(Decimal("0.000001"), ROUND_HALF_UP)
            assert rated.unit_price(channel, "JPY", country) == expected, (channel, country)
    assert rated.currency_info("JPY")["currency_name_short"] == "JPY"
    assert "JPY" in rated.currencies


def test_a_price_written_for_a_rated_currency_wins_over_the_derived_one(tmp_path: Path) -> None:
    data = {
        "currencies": {"JPY": JPY},
        "rates": {"JPY": {"from": "USD", "rate": "150"}},
        "channels": {"sms": {"JPY": {"JP": "3.5"}}},
    }
    rated = PriceBook.load(_write(tmp_path, data))
    assert rated.unit_price("sms", "JPY", "JP") == Decimal("3.5")
    assert rated.unit_price("sms", "JPY", "US") == rated.unit_price("sms", "USD", "US") * 150


@pytest.mark.parametrize(
    ("rates", "message"),
    [
        ({"JPY": {"from": "USD", "rate": "-1"}}, "positive"),
        ({"JPY": {"from": "USD", "rate": "lots"}}, "not a number"),
        ({"JPY": {"from": "USD"}}, "expected"),
        ({"JPY": {"from": "XYZ", "rate": "2"}}, "no XYZ prices"),
        ({"JPY": {"from": "JPY", "rate": "2"}}, "itself"),
        ({"JPY": {"from": "NZD", "rate": "2"}, "NZD": {"from": "USD", "rate": "2"}}, "rated"),
    ],
)
def test_a_bad_rate_is_refused_at_load(tmp_path: Path, rates: object, message: str) -> None:
    data = {"currencies": {"JPY": JPY}, "rates": rates}
    with pytest.raises(PriceBookError, match=message):
        PriceBook.load(_write(tmp_path, data))


def test_an_unquoted_price_is_read_exactly(tmp_path: Path) -> None:
    path = tmp_path / "prices.json"
    path.write_text('{"channels": {"sms": {"USD": {"US": 0.029}}}}', encoding="utf-8")
    assert PriceBook.load(path).unit_price("sms", "USD", "US") == Decimal("0.029")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"channels": {"sms": {"USD": {"US": "cheap"}}}}, "not a price"),
        ({"channels": {"sms": {"USD": {"US": "-0.01"}}}}, "negative"),
        ({"channels": {"sms": {"USD": {"US": "0.0000001"}}}}, "not a price"),
        ({"channels": {"sms": {"XYZ": {"default": "0.01"}}}}, "unknown currencies"),
        ({"currencies": {"JPY": {"name_long": "Yen", "prefix_d": "¥", "prefix_c": "¥"}}}, "JPY"),
        ({"currencies": {"JPY": {"name_long": "Yen"}}}, "lacks"),
        ({"channel": {}}, "unexpected top-level"),
        ([], "JSON object"),
    ],
)
def test_it_rejects_a_malformed_override_file(tmp_path: Path, data: object, message: str) -> None:
    with pytest.raises(PriceBookError, match=message):
        PriceBook.load(_write(tmp_path, data))


def test_it_rejects_an_override_file_that_is_not_json(tmp_path: Path) -> None:
    path = tmp_path / "prices.json"
    path.write_text("{", encoding="utf-8")
    with pytest.raises(PriceBookError, match="not valid JSON"):
        PriceBook.load(path)


def test_fax_is_priced_per_page(book: PriceBook) -> None:
    assert book.unit_price("fax", "USD", "US") == Decimal("0.0800")
    assert book.unit_price("fax", "AUD", "AU") == Decimal("0.1530")


def test_batch_prices_are_the_unit_price_times_the_units_in_micros(book: PriceBook) -> None:
    prices = BatchPrices(book, "sms", "USD")
    assert prices.micros("US", 3) == 87_000  # 3 × 0.0290
    assert prices.micros("AU", 1) == 53_000
    assert prices.micros("us", 3) == 87_000
    assert prices.micros("", 2) == to_micros(book.unit_price("sms", "USD", "") * 2)


def test_batch_prices_round_to_the_micro_unit_as_composition_always_did() -> None:
    info = {"name_long": "US Dollar", "prefix_d": "$", "prefix_c": "c"}
    # Not loadable from a file (more than six places): a book built directly.
    book = PriceBook({"USD": info}, {"sms": {"USD": {"default": Decimal("0.0000015")}}})
    prices = BatchPrices(book, "sms", "USD")
    assert prices.micros("US", 1) == 2  # half to even, the default context
    assert prices.micros("US", 3) == 4  # 0.0000045 → 0.000004


def test_batch_prices_raise_what_unit_price_raises(book: PriceBook) -> None:
    with pytest.raises(UnknownCurrency):
        BatchPrices(book, "sms", "XYZ").micros("US", 1)
    with pytest.raises(UnknownChannel):
        BatchPrices(book, "pigeon", "USD").micros("US", 1)
