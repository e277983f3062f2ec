"""The sandbox's proof of a letter: each page as a PNG, the recipient's address drawn on
the first page where a window envelope shows it (what the printer would print).

Page 1 differs per recipient and is stored per message (`post/proofs/<id>/1.png`); the
other pages are the same for everyone and are stored once per document
(`post/pages/<sha256>/<n>.png`).

A postcard's proof is its two sides, both stored per message (`post/proofs/<id>/1.png`
and `2.png`): the front as given, the back (blank when only a front was given) with the
address on its right half, where a postcard carries it.
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


def proof_key(message_id: str, number: int) -> str:
    return f"post/proofs/{message_id}/{number}.png"


def first_page_key(message_id: str) -> str:
    return proof_key(message_id, 1)


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
    return _png(_address(page, window_box(), lines))


def _address(
    page: Image.Image, box: tuple[int, int, int, int], lines: Sequence[str]
) -> Image.Image:
    image = page.copy()
    draw = ImageDraw.Draw(image)
    draw.rectangle(box, fill="white")
    font = ImageFont.load_default(size=14)
    y = box[1] + 8
    for line in lines:
        draw.text((box[0] + 8, y), line, fill="black", font=font)
        y += 18
    return image


def postcard(front: Image.Image, back: Image.Image | None, lines: Sequence[str]) -> list[bytes]:
    """Both sides as PNGs: the front, and the back with the address on its right half."""
    back = back if back is not None else Image.new("RGB", front.size, "white")
    width, height = back.size
    box = (width * 55 // 100, height * 40 // 100, width - width // 20, height - height // 10)
    stamped = _address(back, box, lines)
    ImageDraw.Draw(stamped).line(
        (width // 2, height // 10, width // 2, height - height // 10), fill="#9ca3af", width=2
    )
    return [_png(front), _png(stamped)]


def rest(pages: list[Image.Image]) -> list[bytes]:
    """Pages 2.. as PNGs."""
    return [_png(page) for page in pages[1:]]
