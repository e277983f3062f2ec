"""Letter and postcard PDFs: printable sizes pass, anything else is refused with a reason."""

from __future__ import annotations

import pytest

from dovecote.channels.post import document
from dovecote.core.errors import InvalidInput
from media_support import encrypted_pdf
from post_support import pdf_of


@pytest.mark.parametrize("size", ["A4", "Letter", (212, 296), "A4-L"])
def test_a4_and_letter_pages_pass(size: str | tuple[float, float]) -> None:
    size = "A4" if size == "A4-L" else size
    assert document.check(pdf_of(size, 3), "file_url", "letter") == 3


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (pdf_of((148, 210)), "letters print on A4"),
        (pdf_of((205, 297)), "letters print on A4"),
        (encrypted_pdf(), "encrypted"),
        (b"%PDF-1.4\nthis is no pdf at all", "damaged"),
        (b"GIF89a not a letter", "not a PDF"),
        (pdf_of("A4", 41), "at most 20 sheets"),
    ],
)
def test_unprintable_letters_are_refused(data: bytes, reason: str) -> None:
    with pytest.raises(InvalidInput, match=reason) as raised:
        document.check(data, "file_url", "letter")
    assert raised.value.code == "INVALID_MEDIA_FILE" and raised.value.field == "file_url"


def test_sheets_count_two_pages_a_sheet_in_duplex() -> None:
    found = document.Document("post/x.pdf", b"", 21)
    assert document.check_sheets(found, duplex=True) == 11
    with pytest.raises(InvalidInput, match="21 sheets"):
        document.check_sheets(found, duplex=False)


@pytest.mark.parametrize("size", [(105, 148), (152.4, 101.6), (296, 210)])
def test_postcards_take_a6_or_4x6_aspect(size: str | tuple[float, float]) -> None:
    assert document.check(pdf_of(size), "file_urls", "postcard") == 1


def test_a_square_postcard_is_refused() -> None:
    with pytest.raises(InvalidInput, match="postcard side"):
        document.check(pdf_of((100, 100)), "file_urls", "postcard")
