"""Exact conversion between Decimal amounts and integer micro-units.

Money is stored and summed as integer millionths of the currency unit, so
balances never accumulate binary floating-point error.
"""

from __future__ import annotations

from decimal import Decimal

MICROS_PER_UNIT = 1_000_000
_PLACES = 6


def to_micros(d: Decimal) -> int:
    """``Decimal("0.0530")`` -> ``53000``.

    Raises ValueError rather than round when ``d`` has a non-zero digit
    beyond the sixth decimal place (or is NaN/infinite): silently dropping
    value is a billing bug, so callers that mean to round must quantize first.
    """
    sign, digits, exponent = d.as_tuple()
    if not isinstance(exponent, int):
        raise ValueError(f"not a finite amount: {d}")
    # Integer arithmetic on the digits, not d * 10**6: Decimal arithmetic
    # rounds to the context precision (28 digits by default).
    coefficient = int("".join(map(str, digits)))
    shift = exponent + _PLACES
    scale: int = 10 ** abs(shift)  # int ** non-literal is typed Any
    if shift >= 0:
        micros = coefficient * scale
    else:
        micros, remainder = divmod(coefficient, scale)
        if remainder:
            raise ValueError(f"{d} has more than {_PLACES} decimal places")
    return -micros if sign else micros


def from_micros(m: int) -> Decimal:
    """``53000`` -> ``Decimal("0.053000")``, always with six decimal places."""
    # Built from a tuple so no context rounding applies, however large m is.
    digits = tuple(int(c) for c in str(abs(m)))
    return Decimal((1 if m < 0 else 0, digits, -_PLACES))
