"""Letters and postcards for the post tests: real PDFs (fpdf2) of any page size."""

from __future__ import annotations

from typing import Any

from fpdf import FPDF


def pdf_of(size: str | tuple[float, float], pages: int = 1, *, text: str = "Dear reader") -> bytes:
    """A PDF of `pages` pages of `size` (an fpdf2 format name or (width, height) in mm)."""
    document = FPDF(format=size)
    document.set_font("helvetica", size=12)
    document.set_auto_page_break(False)
    for number in range(pages):
        document.add_page()
        document.set_xy(10, min(150, document.h - 20))  # below the address window
        document.cell(text=f"{text}, page {number + 1}")
    return bytes(document.output())


def recipient(postal_code: str = "6000", **values: Any) -> dict[str, Any]:
    return {
        "address_name": "Jane Citizen",
        "address_line_1": "1 Example Street",
        "address_city": "Perth",
        "address_state": "WA",
        "address_postal_code": postal_code,
        "address_country": "AU",
        **values,
    }


def addressed_letter(lines: list[str], size: str = "A4") -> bytes:
    """A letter with `lines` printed where a window envelope shows the address."""
    document = FPDF(format=size)
    document.set_font("helvetica", size=11)
    document.set_auto_page_break(False)
    document.add_page()
    document.set_xy(10, 10)
    document.cell(text="Sender Pty Ltd, 2 Sender Road")  # above the window: not the address
    for number, line in enumerate(lines):
        document.set_xy(25, 52 + 6 * number)
        document.cell(text=line)
    document.set_xy(20, 150)
    document.cell(text="Dear Jane, ...")
    return bytes(document.output())
