"""Import files: CSV in any of the encodings spreadsheets write, XLSX through calamine,
and files that are neither, refused with a reason."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest
import xlsxwriter

from dovecote.contacts import readers
from dovecote.core.errors import InvalidInput


def write(tmp_path: Path, data: bytes, name: str = "f.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def read(path: Path) -> list[list[str]]:
    return list(readers.rows(path, readers.detect(path)))


def test_a_utf8_bom_is_dropped_and_quoted_newlines_stay_in_their_cell(tmp_path: Path) -> None:
    data = codecs.BOM_UTF8 + b'phone,name\r\n+14155552671,"Ann\nSmith"\r\n'
    path = write(tmp_path, data)

    assert readers.detect(path).encoding == "utf-8-sig"
    assert read(path) == [["phone", "name"], ["+14155552671", "Ann\nSmith"]]


def test_utf16_and_windows_1252_files_read_as_text(tmp_path: Path) -> None:
    utf16 = write(tmp_path, "+14155552671,Zoë\n".encode("utf-16"), "a.csv")
    cp1252 = write(tmp_path, "+14155552671,Zoë’s\n".encode("cp1252"), "b.csv")

    assert read(utf16) == [["+14155552671", "Zoë"]]
    assert readers.detect(cp1252).encoding == "cp1252"
    assert read(cp1252) == [["+14155552671", "Zoë’s"]]


def test_the_delimiter_is_sniffed(tmp_path: Path) -> None:
    path = write(tmp_path, b"+14155552671;Ann;Lee\n+14155552672;Bob;Ray\n")

    assert read(path)[1] == ["+14155552672", "Bob", "Ray"]


def test_an_xlsx_sheet_reads_numbers_as_plain_digits_and_formulas_as_values(
    tmp_path: Path,
) -> None:
    path = tmp_path / "book.xlsx"
    workbook = xlsxwriter.Workbook(str(path))
    sheet = workbook.add_worksheet()
    sheet.write_row(0, 0, ["phone", "first_name", "custom1"])
    sheet.write_row(1, 0, [14155552671, "Ann", 2.5])
    sheet.write_formula(2, 0, "=14155552600+72", None, 14155552672)
    workbook.close()

    rows = read(path)

    assert readers.detect(path).kind == readers.XLSX
    assert rows[1] == ["14155552671", "Ann", "2.5"]
    assert rows[2][0] == "14155552672"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty"),
        (b"   \n", "empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "neither CSV"),
        (b"PK\x03\x04not really a zip", "neither CSV nor a readable XLSX"),
    ],
)
def test_a_file_that_is_neither_is_refused_with_a_reason(
    tmp_path: Path, data: bytes, reason: str
) -> None:
    with pytest.raises(InvalidInput, match=reason):
        readers.detect(write(tmp_path, data))
