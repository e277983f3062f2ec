"""Reading an import file row by row: CSV streamed (never whole in memory), XLSX through
python-calamine.

What a file is comes from its bytes, not its name or declared type: a ZIP signature is
a workbook, text is CSV. CSV's encoding is decided by a BOM (UTF-8, UTF-16), else by
whether the whole file is valid UTF-8 (checked in a streaming pass), else Windows-1252,
the encoding spreadsheets on Windows save "CSV" in. The delimiter (`,` `;` tab `|`) is
sniffed from the start of the file. Quoted fields may hold newlines. Every cell comes
out as text: spreadsheet numbers as their plain digits (a phone number stored as a
number loses no digits), dates in ISO form.
"""

from __future__ import annotations

import codecs
import csv
import datetime
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import python_calamine

from dovecote.core.errors import InvalidInput

CSV: Final = "csv"
XLSX: Final = "xlsx"
_ZIP: Final = b"PK\x03\x04"
_OLE: Final = b"\xd0\xcf\x11\xe0"  # legacy .xls: calamine reads it too
_SNIFF_BYTES: Final = 64 * 1024
_DELIMITERS: Final = ",;\t|"
# Cells longer than this are refused by the field limits anyway; the CSV module's own
# default (128 KiB) would raise mid-file instead of refusing one row.
csv.field_size_limit(1_000_000)


@dataclass(frozen=True, slots=True)
class FileFormat:
    kind: str  # CSV | XLSX
    encoding: str = "utf-8"
    delimiter: str = ","


def detect(path: Path, field: str = "file_url") -> FileFormat:
    """The file's format, or a 400 saying why it cannot be imported."""
    with path.open("rb") as handle:
        head = handle.read(_SNIFF_BYTES)
    if not head.strip():
        raise InvalidInput(f"{field}: the file is empty.", field=field)
    if head.startswith((_ZIP, _OLE)):
        _check_workbook(path, field)
        return FileFormat(XLSX)
    encoding = _encoding(path, head)
    text = head.decode(encoding, errors="ignore")
    if "\x00" in text:
        raise InvalidInput(f"{field}: the file is neither CSV nor an XLSX workbook.", field=field)
    return FileFormat(CSV, encoding, _delimiter(text))


def _encoding(path: Path, head: bytes) -> str:
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(1 << 20):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return "cp1252"
    return "utf-8"


def _delimiter(text: str) -> str:
    sample = "\n".join(text.splitlines()[:50])
    try:
        return csv.Sniffer().sniff(sample, delimiters=_DELIMITERS).delimiter
    except csv.Error:
        return ","


def _check_workbook(path: Path, field: str) -> None:
    try:
        workbook = python_calamine.CalamineWorkbook.from_path(str(path))
        if not workbook.sheet_names:
            raise InvalidInput(f"{field}: the workbook has no sheet.", field=field)
    except (python_calamine.CalamineError, ValueError, OSError) as exc:
        raise InvalidInput(
            f"{field}: the file is neither CSV nor a readable XLSX workbook ({exc}).",
            field=field,
        ) from None


def rows(path: Path, fmt: FileFormat) -> Iterator[list[str]]:
    """Every row of the file (the first sheet of a workbook), as text cells."""
    if fmt.kind == XLSX:
        yield from _workbook_rows(path)
        return
    # cp1252 leaves five bytes undefined; a file using them still imports (as latin-1 would).
    errors = "replace" if fmt.encoding == "cp1252" else "strict"
    with path.open("r", encoding=fmt.encoding, errors=errors, newline="") as handle:
        yield from csv.reader(handle, delimiter=fmt.delimiter)


def _workbook_rows(path: Path) -> Iterator[list[str]]:
    workbook = python_calamine.CalamineWorkbook.from_path(str(path))
    sheet = workbook.get_sheet_by_index(0)
    for row in sheet.iter_rows():
        yield [_cell(value) for value in row]


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    return str(value)
