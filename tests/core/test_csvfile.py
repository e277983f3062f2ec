"""CSV cells of the history export: spreadsheet formulas are defused, numbers kept."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Sequence

import pytest

from dovecote.core.csvfile import csv_cell, csv_stream


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"),
        ("+1+cmd|' /C calc'!A0", "'+1+cmd|' /C calc'!A0"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("+61411111111", "+61411111111"),
        ("-1.5", "-1.5"),
        ("hello = world", "hello = world"),
        (None, ""),
        (42, "42"),
    ],
)
def test_a_cell_is_escaped_only_when_a_spreadsheet_would_run_it(value: object, cell: str) -> None:
    assert csv_cell(value) == cell


async def test_the_stream_writes_a_header_and_every_row_in_pieces() -> None:
    async def rows() -> AsyncIterator[Sequence[object]]:
        for i in range(5000):
            yield [i, f"body, with comma {i}", "=evil"]

    pieces = [piece async for piece in csv_stream(["n", "body", "x"], rows())]

    assert len(pieces) > 1
    table = list(csv.reader(io.StringIO(b"".join(pieces).decode())))
    assert table[0] == ["n", "body", "x"]
    assert table[4999 + 1] == ["4999", "body, with comma 4999", "'=evil"]
