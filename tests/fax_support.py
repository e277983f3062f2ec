"""Real PDFs for the fax tests, made with fpdf2: text pages, encrypted, corrupt."""

from __future__ import annotations

from fpdf import FPDF


def pdf(pages: int = 1, *, text: str = "Dovecote fax page", password: str | None = None) -> bytes:
    document = FPDF(format="A4")
    document.set_font("Helvetica", size=24)
    for number in range(1, pages + 1):
        document.add_page()
        document.cell(text=f"{text} {number}")
        document.rect(20, 40, 170, 100)  # a box: black ink the TIFF must keep
    if password is not None:
        document.set_encryption(owner_password="owner-secret", user_password=password)
    return bytes(document.output())


def corrupt() -> bytes:
    good = pdf(2)
    return good[: len(good) // 3] + b"\x00garbage\x00" * 50
