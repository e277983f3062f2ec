"""Conversions for `/v3/uploads?convert=…`, on real files made here."""

from __future__ import annotations

import io

import pypdf
import pytest
from PIL import Image

from dovecote.core.errors import InvalidInput
from dovecote.files import convert
from media_support import bomb_png, encrypted_pdf, image, noisy_jpeg, pdf, xlsx


@pytest.mark.parametrize("kind", ["PNG", "BMP", "WEBP", "TIFF"])
def test_mms_turns_other_images_into_a_jpeg(kind: str) -> None:
    result = convert.convert(image(kind), "mms")
    assert (result.content_type, result.extension) == ("image/jpeg", "jpg")
    assert Image.open(io.BytesIO(result.data)).format == "JPEG"


@pytest.mark.parametrize(("kind", "media_type"), [("JPEG", "image/jpeg"), ("GIF", "image/gif")])
def test_mms_keeps_a_small_jpeg_or_gif_as_it_is(kind: str, media_type: str) -> None:
    data = image(kind)
    result = convert.convert(data, "mms")
    assert result.data == data
    assert result.content_type == media_type


def test_mms_shrinks_a_large_photo_under_the_limit() -> None:
    data = noisy_jpeg((2400, 1800))
    assert len(data) > convert.MMS_MAX_BYTES
    result = convert.convert(data, "mms")
    assert len(result.data) <= convert.MMS_MAX_BYTES
    assert max(Image.open(io.BytesIO(result.data)).size) <= convert.MMS_MAX_SIDE


def test_transparency_is_composed_onto_white_not_black() -> None:
    data = image("PNG", mode="RGBA")  # fully transparent
    result = convert.convert(data, "mms")
    pixel = Image.open(io.BytesIO(result.data)).convert("RGB").getpixel((5, 5))
    assert isinstance(pixel, tuple)
    assert min(pixel) >= 250


def test_a_decompression_bomb_is_refused_before_it_is_decoded() -> None:
    with pytest.raises(InvalidInput) as refused:
        convert.convert(bomb_png(), "mms")
    assert refused.value.code == "INVALID_MEDIA_FILE"
    assert "megapixels" in refused.value.message


@pytest.mark.parametrize("target", ["mms", "fax", "post"])
def test_a_corrupt_image_is_refused(target: convert.Target) -> None:
    data = image("PNG", (300, 300))
    with pytest.raises(InvalidInput) as refused:
        convert.convert(data[: len(data) // 2], target)
    assert "damaged" in refused.value.message or "not an image" in refused.value.message


def test_text_is_not_media() -> None:
    with pytest.raises(InvalidInput) as refused:
        convert.convert(b"hello, this is text", "mms")
    assert refused.value.code == "INVALID_MEDIA_FILE"


@pytest.mark.parametrize("kind", ["JPEG", "PNG", "GIF", "BMP"])
@pytest.mark.parametrize("target", ["fax", "post"])
def test_fax_and_post_turn_an_image_into_a_one_page_a4_pdf(
    kind: str, target: convert.Target
) -> None:
    result = convert.convert(image(kind, (600, 800)), target)
    assert result.content_type == "application/pdf"
    reader = pypdf.PdfReader(io.BytesIO(result.data))
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (595, 842)


def test_a_pdf_is_kept_as_it_is() -> None:
    data = pdf(pages=3)
    result = convert.convert(data, "fax")
    assert result.data == data
    assert convert.check_pdf(result.data) == 3


def test_an_encrypted_pdf_is_refused() -> None:
    with pytest.raises(InvalidInput, match="encrypted"):
        convert.convert(encrypted_pdf(), "post")


def test_a_corrupt_pdf_is_refused() -> None:
    with pytest.raises(InvalidInput, match="damaged"):
        convert.convert(b"%PDF-1.4\n1 0 obj garbage\n%%EOF", "fax")


def test_csv_reads_the_first_sheet_of_a_workbook() -> None:
    data = xlsx([["phone", "first_name"], [61411111111, "Ann"], [61422222222, "Bo"]])
    result = convert.convert(data, "csv")
    assert result.content_type == "text/csv"
    assert result.data.decode().splitlines() == [
        "phone,first_name",
        "61411111111,Ann",
        "61422222222,Bo",
    ]


def test_csv_normalises_encoding_and_delimiter() -> None:
    data = "phone;name\r\n+61411111111;Zoë\r\n".encode("cp1252")
    result = convert.convert(data, "csv")
    assert result.data.decode().splitlines() == ["phone,name", "+61411111111,Zoë"]


def test_csv_refuses_a_binary_file() -> None:
    with pytest.raises(InvalidInput):
        convert.convert(image("PNG"), "csv")


def test_a_damaged_workbook_is_refused() -> None:
    with pytest.raises(InvalidInput, match="damaged"):
        convert.convert(b"PK\x03\x04" + b"\x00" * 100, "csv")


def test_without_a_conversion_the_file_is_kept_with_its_sniffed_type() -> None:
    result = convert.convert(pdf(), None)
    assert (result.content_type, result.extension) == ("application/pdf", "pdf")
    with pytest.raises(InvalidInput):
        convert.convert(b"", None)


def test_an_image_over_the_pixel_limit_is_refused_naming_its_size() -> None:
    with pytest.raises(InvalidInput) as refused:
        convert.convert(bomb_png(7000), "fax")  # 49 megapixels: under Pillow's own limit
    assert "7000 × 7000" in refused.value.message
