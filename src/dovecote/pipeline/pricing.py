"""Per-channel, per-currency, per-country unit prices.

Prices come from the packaged ``dovecote/data/prices.json``, optionally
overlaid by an operator's file of the same shape. Everything is parsed and
validated at load, so lookups are plain dict reads with no I/O.

A currency may also be priced by an exchange rate instead of its own columns: the
file's ``rates`` table (``{"JPY": {"from": "USD", "rate": "151.20"}}``) derives every
price of that currency from its base currency's, once at load, rounded half-up to the
micro-unit. Prices written for the currency itself win over derived ones, so an operator
can rate a currency and still fix a few prices by hand. Accounts in that currency then
see balances, prices and `_currency` in it like any other (docs/billing.md).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from decimal import ROUND_HALF_UP, Decimal
from importlib import resources

from dovecote.core.money import to_micros

DEFAULT = "default"  # the per-currency fallback entry in every channel table

_Currencies = dict[str, dict[str, str]]  # code -> name_long/prefix_d/prefix_c
_Prices = dict[str, dict[str, dict[str, Decimal]]]  # channel -> currency -> country
_Rates = dict[str, tuple[str, Decimal]]  # code -> (base currency, rate)
_CURRENCY_FIELDS = ("name_long", "prefix_d", "prefix_c")
MICRO = Decimal("0.000001")


class UnknownCurrency(KeyError):
    pass


class UnknownChannel(KeyError):
    pass


class PriceBookError(ValueError):
    """A price file is malformed or leaves a currency without a default."""


class PriceBook:
    __slots__ = ("_currencies", "_prices")

    def __init__(self, currencies: _Currencies, prices: _Prices) -> None:
        _check_complete(currencies, prices)
        self._currencies = currencies
        self._prices = prices

    @classmethod
    def load(cls, override_path: str | os.PathLike[str] | None = None) -> PriceBook:
        """Packaged prices, with ``override_path``'s entries replacing them.

        Overrides apply per channel/currency/country price and per currency
        field; anything the override file does not mention keeps its packaged
        value. Reads files, so call once at startup, not per request.
        """
        packaged = resources.files("dovecote") / "data" / "prices.json"
        currencies: _Currencies = {}
        prices: _Prices = {}
        rates: _Rates = {}
        text = packaged.read_text(encoding="utf-8")
        _merge(currencies, prices, text, "prices.json", rates)
        if override_path is not None:
            with open(override_path, encoding="utf-8") as f:
                _merge(currencies, prices, f.read(), os.fspath(override_path), rates)
        _derive(prices, rates)
        return cls(currencies, prices)

    @property
    def currencies(self) -> tuple[str, ...]:
        return tuple(self._currencies)

    def unit_price(self, channel: str, currency: str, country: str) -> Decimal:
        """Price of one unit (SMS part, MMS, voice minute, email) to ``country``.

        Countries without an entry, including "" for unknown, get the
        currency's default price.
        """
        code = currency.upper()
        if code not in self._currencies:
            raise UnknownCurrency(currency)
        try:
            table = self._prices[channel.lower()][code]
        except KeyError:
            raise UnknownChannel(channel) from None
        return table.get(country.upper(), table[DEFAULT])

    def currency_info(self, currency: str) -> dict[str, str]:
        """ClickSend's ``_currency`` object for ``currency``."""
        code = currency.upper()
        try:
            info = self._currencies[code]
        except KeyError:
            raise UnknownCurrency(currency) from None
        return {
            "currency_name_short": code,
            "currency_prefix_d": info["prefix_d"],
            "currency_prefix_c": info["prefix_c"],
            "currency_name_long": info["name_long"],
        }


class BatchPrices:
    """What `units` units of one channel cost in one currency to a country, in micros:
    the unit price times `units`, quantized to the micro-unit (the context's rounding,
    a no-op for prices from `PriceBook.load`), each (country, units) worked out once.

    Made per request: the Decimal multiplication, quantize and `to_micros` took 6 of the
    14 µs composing an SMS cost (measured on a loaded machine), while a batch of 1,000
    messages holds a handful of (country, parts) pairs. Errors (an unknown currency or channel) are raised on the
    first lookup, as `unit_price` raises them.
    """

    __slots__ = ("_book", "_channel", "_currency", "_memo")

    def __init__(self, book: PriceBook, channel: str, currency: str) -> None:
        self._book, self._channel, self._currency = book, channel, currency
        self._memo: dict[tuple[str, int], int] = {}

    def micros(self, country: str, units: int) -> int:
        key = (country, units)
        price = self._memo.get(key)
        if price is None:
            unit = self._book.unit_price(self._channel, self._currency, country)
            price = self._memo[key] = to_micros((unit * Decimal(units)).quantize(MICRO))
        return price


def _merge(currencies: _Currencies, prices: _Prices, text: str, source: str, rates: _Rates) -> None:
    """Parse one price file into the accumulators, overwriting entries."""
    try:
        # parse_float=Decimal: an operator writing 0.029 unquoted gets exactly
        # 0.029, not the nearest binary float.
        data: object = json.loads(text, parse_float=Decimal, parse_int=Decimal)
    except ValueError as exc:
        raise PriceBookError(f"{source}: not valid JSON: {exc}") from None
    root = _mapping(data, source)
    unknown = sorted(root.keys() - {"currencies", "channels", "rates"})
    if unknown:
        # Most likely a typo that would otherwise silently change nothing.
        raise PriceBookError(f"{source}: unexpected top-level keys {unknown}")

    for code, fields in _mapping(root.get("currencies", {}), source).items():
        where = f"{source}: currencies.{code}"
        entry = currencies.setdefault(code.upper(), {})
        for name, value in _mapping(fields, where).items():
            if name not in _CURRENCY_FIELDS or not isinstance(value, str):
                raise PriceBookError(
                    f"{where}.{name}: expected one of {_CURRENCY_FIELDS} as a string"
                )
            entry[name] = value

    for code, entry_ in _mapping(root.get("rates", {}), source).items():
        where = f"{source}: rates.{code}"
        fields = _mapping(entry_, where)
        base, rate = fields.get("from"), fields.get("rate")
        if not isinstance(base, str) or not isinstance(rate, str | Decimal):
            raise PriceBookError(f'{where}: expected {{"from": CODE, "rate": "1.23"}}')
        try:
            value = Decimal(rate)
        except ArithmeticError:
            raise PriceBookError(f"{where}.rate: {rate!r} is not a number") from None
        if not value.is_finite() or value <= 0:
            raise PriceBookError(f"{where}.rate: {rate!r} must be a positive number")
        rates[code.upper()] = (base.upper(), value)

    for channel, by_currency in _mapping(root.get("channels", {}), source).items():
        for code, by_country in _mapping(by_currency, f"{source}: {channel}").items():
            where = f"{source}: channels.{channel}.{code}"
            table = prices.setdefault(channel.lower(), {}).setdefault(code.upper(), {})
            for country, price in _mapping(by_country, where).items():
                key = DEFAULT if country.lower() == DEFAULT else country.upper()
                table[key] = _price(price, f"{where}.{country}")


def _derive(prices: _Prices, rates: _Rates) -> None:
    """Fill each rated currency's prices from its base currency's (a base must have its
    own prices: rates do not chain), keeping any price written for it directly."""
    for code, (base, rate) in rates.items():
        if base in rates:
            raise PriceBookError(f"rates.{code}: its base {base} is itself rated")
        if code == base:
            raise PriceBookError(f"rates.{code}: a currency cannot be rated from itself")
        for channel, by_currency in prices.items():
            if base not in by_currency:
                raise PriceBookError(f"rates.{code}: {channel} has no {base} prices")
            own = by_currency.get(code, {})
            derived = {
                country: (price * rate).quantize(MICRO, rounding=ROUND_HALF_UP)
                for country, price in by_currency[base].items()
            }
            by_currency[code] = {**derived, **own}


def _mapping(value: object, where: str) -> Mapping[str, object]:
    if not isinstance(value, dict):
        raise PriceBookError(f"{where}: expected a JSON object")
    return value


def _price(value: object, where: str) -> Decimal:
    if not isinstance(value, str | Decimal):
        raise PriceBookError(f"{where}: expected a decimal string, got {value!r}")
    try:
        price = Decimal(value)
        to_micros(price)  # must be finite and exact in micro-units
    except (ArithmeticError, ValueError):
        raise PriceBookError(
            f"{where}: {value!r} is not a price with at most 6 decimal places"
        ) from None
    if price < 0:
        raise PriceBookError(f"{where}: negative price {value!r}")
    return price


def _check_complete(currencies: _Currencies, prices: _Prices) -> None:
    # Checked once at load so a lookup can always fall back to DEFAULT.
    for code, info in currencies.items():
        missing = [name for name in _CURRENCY_FIELDS if name not in info]
        if missing:
            raise PriceBookError(f"currency {code} lacks {missing}")
    for channel, by_currency in prices.items():
        unknown = sorted(by_currency.keys() - currencies.keys())
        if unknown:
            raise PriceBookError(f"{channel} prices unknown currencies {unknown}")
        for code in currencies:
            if DEFAULT not in by_currency.get(code, {}):
                raise PriceBookError(f"{channel} has no {DEFAULT} price in {code}")


# --- Reseller client prices (reseller/) ----------------------------------------------
# Kept apart from the price book: a reseller's client pays the price book's price plus
# its reseller's margin, whatever currency the book answered in. The margin is kept in
# the client account's settings (written by `reseller/`), so a send reads no more rows.
MARGIN_KEY = "reseller_margin_bp"  # hundredths of a percent: 1000 = 10 %


def client_price(price_micros: int, account_settings: Mapping[str, object]) -> int:
    """`price_micros` raised by the account's reseller margin, rounded up to a micro-unit
    (a reseller never sells below its own price); unchanged for everyone else."""
    margin = account_settings.get(MARGIN_KEY)
    if not isinstance(margin, int) or margin <= 0 or price_micros <= 0:
        return price_micros
    return -(-price_micros * (10_000 + margin) // 10_000)


def route_unit_price(prices: Iterable[tuple[str, int]], recipient: str) -> int | None:
    """Per-unit price (micros) a route sets for `recipient`: of `prices`, (prefix, micros)
    of one connector, channel and currency, the longest prefix of the number wins; None
    when none matches (the price book's price stands). See `pipeline.routing.pricing`."""
    digits = recipient.lstrip("+")
    best: tuple[int, int] | None = None
    for prefix, micros in prices:
        bare = prefix.lstrip("+")
        if digits.startswith(bare) and (best is None or len(bare) > best[0]):
            best = (len(bare), micros)
    return None if best is None else best[1]
