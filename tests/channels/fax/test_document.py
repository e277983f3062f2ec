"""Fax documents: PDFs counted and refused with ClickSend's code; the TIFF a fax machine
receives (1-bit, Group 4, 204 × 196 dpi) and its PNG previews."""

from __future__ import annotations

import io

import pytest
from PIL import Image, ImageSequence

from dovecote.channels.fax import document
from dovecote.core.errors import InvalidInput
from fax_support import corrupt, pdf


def test_pages_are_counted() -> None:
    assert document.inspect(pdf(3)).pages == 3


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (corrupt(), "cannot be read"),
        (pdf(1, password="letmein"), "encrypted"),
        (pdf(document.MAX_PAGES + 1), "at most"),
        (b"GIF89a not a pdf", "not a PDF"),
    ],
)
def test_unusable_documents_are_refused_with_the_spec_code(data: bytes, reason: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        document.inspect(data)

    assert refused.value.code == "INVALID_MEDIA_FILE"
    assert reason in refused.value.message and refused.value.field == "file_url"


def test_the_tiff_is_what_a_fax_machine_receives() -> None:
    tiff = document.render_tiff(pdf(2))

    with Image.open(io.BytesIO(tiff)) as image:
        frames = list(ImageSequence.Iterator(image))
        assert len(frames) == 2
        for frame in frames:
            assert frame.mode == "1"
            assert frame.info["compression"] == "group4"
            assert tuple(round(v) for v in frame.info["dpi"]) == (204, 196)
            # A4 is 8.27 × 11.69 in: 1687 pixels across at 204 dpi, 2291 down at 196.
            assert frame.size[0] == pytest.approx(8.27 * 204, abs=3)
            assert frame.size[1] == pytest.approx(11.69 * 196, abs=3)
            black = frame.convert("L").histogram()[0]
            assert 0.001 < black / (frame.size[0] * frame.size[1]) < 0.2  # ink, not noise


def test_each_page_previews_as_a_png_of_the_received_page() -> None:
    pngs = document.tiff_pages_as_png(document.render_tiff(pdf(3)))

    assert len(pngs) == 3
    with Image.open(io.BytesIO(pngs[0])) as preview:
        assert preview.format == "PNG" and preview.mode == "1"
