"""Fax documents: a PDF checked, counted, and rendered to what a fax machine receives.

A fax machine in fine mode receives 1-bit pages at 204 × 196 dpi, compressed with
CCITT Group 4 (T.6), in a TIFF. Pages are rasterised by PDFium (pypdfium2) at the
horizontal resolution, squeezed to the vertical one, and thresholded to black and white
(no dithering: text stays crisp, as on paper). Everything here is CPU work and blocking:
callers on the event loop run it in a thread.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pypdfium2 as pdfium
from PIL import Image, ImageSequence

from dovecote.core.errors import InvalidInput

DPI_X, DPI_Y = 204, 196  # fine mode
MAX_PAGES = 30
MAX_BYTES = 20 * 1024 * 1024
# ClickSend's code for a document it cannot use (the spec names it for MMS media).
INVALID_FILE = "INVALID_MEDIA_FILE"
_THRESHOLD = 160  # grey levels above this are paper


@dataclass(frozen=True, slots=True)
class Document:
    pages: int


def _refuse(field: str, reason: str) -> InvalidInput:
    return InvalidInput(f"{field}: {reason}", code=INVALID_FILE, field=field)


@contextmanager
def _opened(data: bytes, field: str) -> Iterator[pdfium.PdfDocument]:
    if not data.lstrip()[:5] == b"%PDF-":
        raise _refuse(field, "the document is not a PDF.")
    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        if "password" in str(exc).lower():
            raise _refuse(field, "the PDF is encrypted; send it without a password.") from None
        raise _refuse(field, f"the PDF cannot be read ({exc}).") from None
    try:
        yield pdf
    finally:
        pdf.close()


def inspect(data: bytes, *, field: str = "file_url") -> Document:
    """The page count of a PDF a fax can carry; InvalidInput (400) otherwise."""
    with _opened(data, field) as pdf:
        pages = len(pdf)
        if pages == 0:
            raise _refuse(field, "the PDF has no pages.")
        if pages > MAX_PAGES:
            raise _refuse(field, f"the PDF has {pages} pages; a fax carries at most {MAX_PAGES}.")
        return Document(pages=pages)


def _page_image(page: pdfium.PdfPage) -> Image.Image:
    bitmap = page.render(scale=DPI_X / 72, grayscale=True)
    grey = bitmap.to_pil().convert("L")
    height = max(1, round(grey.height * DPI_Y / DPI_X))
    grey = grey.resize((grey.width, height), Image.Resampling.LANCZOS)
    black_and_white: Image.Image = grey.point(
        lambda level: 255 if level > _THRESHOLD else 0, mode="1"
    )
    return black_and_white


def render_tiff(data: bytes, *, field: str = "file_url") -> bytes:
    """Every page as one multi-page, 1-bit, Group 4 TIFF at 204 × 196 dpi."""
    with _opened(data, field) as pdf:
        images = [_page_image(pdf[index]) for index in range(len(pdf))]
    out = io.BytesIO()
    images[0].save(
        out,
        format="TIFF",
        compression="group4",
        dpi=(DPI_X, DPI_Y),
        save_all=True,
        append_images=images[1:],
    )
    return out.getvalue()


def tiff_pages_as_png(tiff: bytes) -> list[bytes]:
    """Each page of a fax TIFF as a PNG: exactly what the receiving machine printed."""
    pages = []
    with Image.open(io.BytesIO(tiff)) as image:
        for frame in ImageSequence.Iterator(image):
            out = io.BytesIO()
            frame.save(out, format="PNG", dpi=(DPI_X, DPI_Y))
            pages.append(out.getvalue())
    return pages
