"""The sandbox's proof of a letter: each page as a PNG, the recipient's address drawn on
the first page where a window envelope shows it (what the printer would print).

Page 1 differs per recipient and is stored per message (`post/proofs/<id>/1.png`); the
other pages are the same for everyone and are stored once per document
(`post/pages/<sha256>/<n>.png`).
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import pypdfium2 as pdfium
from PIL import Image, ImageDraw, ImageFont

SCALE = 100 / 72  # 100 dpi: legible, and an A4 page stays ~100 kB
MM = 72 / 25.4
# A DL window envelope's window (ISO 269 / DIN 5008 type B): 20 mm from the left,
# 45 mm from the top, 90 × 45 mm. ClickSend's letter template leaves this area blank.
WINDOW = (20 * MM, 45 * MM, 90 * MM, 45 * MM)  # x, y from the top, width, height (points)


def window_box(scale: float = SCALE) -> tuple[int, int, int, int]:
    x, y, width, height = WINDOW
    return (
        round(x * scale),
        round(y * scale),
        round((x + width) * scale),
        round((y + height) * scale),
    )


def page_key(document_key: str, number: int) -> str:
    digest = document_key.rsplit("/", 1)[-1].removesuffix(".pdf")
    return f"post/pages/{digest}/{number}.png"


def first_page_key(message_id: str) -> str:
    return f"post/proofs/{message_id}/1.png"


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG", optimize=False)
    return out.getvalue()


def render_pages(data: bytes) -> list[Image.Image]:
    document = pdfium.PdfDocument(data)
    try:
        return [
            document[index].render(scale=SCALE).to_pil().convert("RGB")
            for index in range(len(document))
        ]
    finally:
        document.close()


def stamp(page: Image.Image, lines: Sequence[str]) -> bytes:
    """Page 1 with the address `lines` in the window, as a PNG."""
    image = page.copy()
    draw = ImageDraw.Draw(image)
    box = window_box()
    draw.rectangle(box, fill="white")
    font = ImageFont.load_default(size=14)
    y = box[1] + 8
    for line in lines:
        draw.text((box[0] + 8, y), line, fill="black", font=font)
        y += 18
    return _png(image)


def rest(pages: list[Image.Image]) -> list[bytes]:
    """Pages 2.. as PNGs."""
    return [_png(page) for page in pages[1:]]
