"""A letter's or postcard's PDF: read (Dovecote's own upload link, else fetched), checked
and stored once under its content hash.

The checks are a printer's: the file opens as a PDF, is not encrypted, every page is
A4 or US Letter (±2 mm, either orientation) for letters or postcard-sized for cards,
and a letter fits in `MAX_SHEETS` sheets. Every refusal is a 400 with ClickSend's
`INVALID_MEDIA_FILE` (the spec's code for a send's unusable file) before anything is
charged.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass

import pypdfium2 as pdfium

from dovecote.core.errors import InvalidInput
from dovecote.files import convert
from dovecote.files.store import FileStore
from dovecote.pipeline import media
from dovecote.settings import Settings

INVALID_MEDIA_FILE = convert.INVALID_MEDIA_FILE
MAX_BYTES = 20_000_000
MAX_SHEETS = 20
MM = 72 / 25.4  # PDF points per millimetre
TOLERANCE = 2 * MM
A4 = (210 * MM, 297 * MM)
LETTER = (215.9 * MM, 279.4 * MM)
# A6 and 4 × 6 in are the usual postcard sizes; any page of their aspect (±2 %) is
# printed to size, so a scaled-up design is fine.
POSTCARD_ASPECTS = (148 / 105, 6 / 4)
ASPECT_TOLERANCE = 0.02
# Direct-mail flyers: A5 (148 × 210 mm) or DL (99 × 210 mm), or their aspect.
ASPECTS = {"postcard": POSTCARD_ASPECTS, "A5": (210 / 148,), "DL": (210 / 99,)}


@dataclass(frozen=True, slots=True)
class Document:
    key: str
    data: bytes
    pages: int


def refuse(field: str, message: str) -> InvalidInput:
    return InvalidInput(f"{field}: {message}", field=field, code=INVALID_MEDIA_FILE)


async def load(
    url: str | None, *, field: str, kind: str, store: FileStore, settings: Settings
) -> Document:
    if not url or not url.strip():
        raise refuse(field, "the URL of a PDF is required.")
    fetched = await media.load(
        url.strip(),
        field=field,
        max_bytes=MAX_BYTES,
        store=store,
        settings=settings,
        code=INVALID_MEDIA_FILE,
    )
    pages = await asyncio.to_thread(check, fetched.content, field, kind)
    digest = hashlib.sha256(fetched.content).hexdigest()
    return Document(f"post/{digest}.pdf", fetched.content, pages)


def _same(size: tuple[float, float], paper: tuple[float, float]) -> bool:
    short, long = sorted(size)
    return abs(short - paper[0]) <= TOLERANCE and abs(long - paper[1]) <= TOLERANCE


def _aspect(size: tuple[float, float], aspects: tuple[float, ...]) -> bool:
    short, long = sorted(size)
    if short <= 0:
        return False
    ratio = long / short
    return any(abs(ratio - aspect) <= aspect * ASPECT_TOLERANCE for aspect in aspects)


def check(data: bytes, field: str, kind: str) -> int:
    """The page count of a printable PDF (`kind` letter or postcard); refused otherwise."""
    if convert.sniff(data) is None or convert.sniff(data) != ("application/pdf", "pdf"):
        raise refuse(field, "the file is not a PDF; convert it with POST /v3/uploads?convert=post.")
    try:
        convert.check_pdf(data, field)  # opens, is not encrypted, has pages
    except InvalidInput as exc:
        raise InvalidInput(exc.message, field=field, code=INVALID_MEDIA_FILE) from None
    try:
        document = pdfium.PdfDocument(data)
    except pdfium.PdfiumError:
        raise refuse(field, "the PDF is damaged.") from None
    try:
        pages = len(document)
        for index in range(pages):
            size = document.get_page_size(index)
            if kind == "postcard" and not _aspect(size, ASPECTS[kind]):
                raise refuse(
                    field,
                    f"page {index + 1} is {size[0] / MM:.0f} × {size[1] / MM:.0f} mm; a "
                    "postcard side is A6 (148 × 105 mm) or 6 × 4 in, or that aspect.",
                )
            elif kind in ("A5", "DL") and not _aspect(size, ASPECTS[kind]):
                raise refuse(
                    field,
                    f"page {index + 1} is {size[0] / MM:.0f} × {size[1] / MM:.0f} mm, not "
                    f"{kind} or its aspect.",
                )
            elif kind == "letter" and not (_same(size, A4) or _same(size, LETTER)):
                raise refuse(
                    field,
                    f"page {index + 1} is {size[0] / MM:.0f} × {size[1] / MM:.0f} mm; letters "
                    "print on A4 (210 × 297 mm) or US Letter (216 × 279 mm).",
                )
    finally:
        document.close()
    if kind == "letter" and pages > 2 * MAX_SHEETS:
        raise refuse(
            field, f"the PDF has {pages} pages; a letter holds at most {MAX_SHEETS} sheets."
        )
    return pages


def sheets(pages: int, *, duplex: bool) -> int:
    return (pages + 1) // 2 if duplex else pages


def check_sheets(document: Document, *, duplex: bool, field: str = "file_url") -> int:
    count = sheets(document.pages, duplex=duplex)
    if count > MAX_SHEETS:
        raise refuse(
            field,
            f"the PDF needs {count} sheets printed {'duplex' if duplex else 'simplex'}; a letter "
            f"holds at most {MAX_SHEETS}.",
        )
    return count
