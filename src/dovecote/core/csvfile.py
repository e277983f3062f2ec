"""CSV for spreadsheets: cells that cannot run as formulas, streamed in pieces."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import AsyncIterable, AsyncIterator, Sequence

# A spreadsheet runs a cell starting with one of these as a formula (CSV injection), so
# such cells get a leading apostrophe. Plain numbers are left alone: "+61411111111" or
# "-1" cannot carry a formula, and escaping them would spoil every phone number.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?")
_FLUSH_AT = 64 * 1024


def csv_cell(value: object) -> str:
    if value is None:
        return ""
    text = str(value)
    if text.startswith(_FORMULA_START) and not _PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


async def csv_stream(
    header: Sequence[str], rows: AsyncIterable[Sequence[object]]
) -> AsyncIterator[bytes]:
    """CSV bytes in ~64 KiB pieces: memory stays flat however many rows there are."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    async for row in rows:
        writer.writerow([csv_cell(value) for value in row])
        if buffer.tell() >= _FLUSH_AT:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()
