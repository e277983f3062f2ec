"""What the voice, fax and post sandboxes cost in CPU: fax pages rendered per second
(PDF → 1-bit Group 4 TIFF at 204 × 196 dpi, plus the PNG previews), seconds of speech
synthesized per CPU second (eSpeak NG), and letters proofed per second (every page to
PNG, the address stamped in the window of page 1). Single-threaded, process CPU time.
Figures go to bench/README.md.

    .venv/bin/python bench/media_render.py [--pages 20] [--calls 50] [--letters 20]
"""

from __future__ import annotations

import argparse
import time

from fpdf import FPDF

from dovecote.channels.fax import document
from dovecote.channels.post import proof
from dovecote.channels.post.address import Address
from dovecote.channels.voice import speech

PROSE = (
    "Hello, this is a reminder from your dental clinic. Your appointment is on Tuesday "
    "at half past nine in the morning. Please press one to confirm, or two to speak to "
    "our reception team. Thank you, and have a lovely day."
)


def text_pdf(pages: int) -> bytes:
    """Pages of dense body text, like a typical faxed letter or form."""
    pdf = FPDF(format="A4")
    pdf.set_font("Helvetica", size=11)
    line = "The quick brown fox jumps over the lazy dog. " * 2
    for number in range(pages):
        pdf.add_page()
        pdf.cell(text=f"Page {number + 1}", new_x="LMARGIN", new_y="NEXT")
        for _ in range(45):
            pdf.cell(text=line, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def fax(pages: int) -> None:
    data = text_pdf(pages)
    started, wall = time.process_time(), time.perf_counter()
    tiff = document.render_tiff(data)
    rendered = time.process_time() - started
    pngs = document.tiff_pages_as_png(tiff)
    total = time.process_time() - started
    elapsed = time.perf_counter() - wall
    print(
        f"fax: {pages} A4 text pages → TIFF {len(tiff) / pages / 1024:.0f} KiB/page: "
        f"{pages / rendered:.1f} pages/CPU-s rendered, {pages / total:.1f} pages/CPU-s "
        f"with PNG previews ({len(pngs)} PNGs), {pages / elapsed:.1f} pages/s wall"
    )


def voice(calls: int) -> None:
    speech.synthesize("warm up", "en-us")
    spoken = 0.0
    started, wall = time.process_time(), time.perf_counter()
    for index in range(calls):
        voice_name = "en-us+f3" if index % 2 else "en-us"
        spoken += speech.synthesize(PROSE, voice_name).seconds
    cpu = time.process_time() - started
    elapsed = time.perf_counter() - wall
    print(
        f"voice: {calls} calls, {spoken:.0f} s of speech in {cpu:.2f} CPU-s: "
        f"{spoken / cpu:.0f} s of speech per CPU-s ({spoken / elapsed:.0f} per wall-s)"
    )


def letters(count: int, pages: int = 2) -> None:
    data = text_pdf(pages)
    address = Address("Ann Smith", "1 Long Street", "", "Sydney", "NSW", "2000", "AU")
    started, wall = time.process_time(), time.perf_counter()
    for _ in range(count):
        rendered = proof.render_pages(data)
        proof.stamp(rendered[0], address.lines())
        proof.rest(rendered)
    cpu = time.process_time() - started
    elapsed = time.perf_counter() - wall
    print(
        f"post: {count} letters of {pages} A4 pages proofed (PNG per page, address in the "
        f"window): {count / cpu:.1f} letters/CPU-s, {count / elapsed:.1f} letters/s wall"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=20)
    parser.add_argument("--calls", type=int, default=50)
    parser.add_argument("--letters", type=int, default=20)
    args = parser.parse_args()
    fax(args.pages)
    voice(args.calls)
    letters(args.letters)


if __name__ == "__main__":
    main()
