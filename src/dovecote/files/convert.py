"""What `POST /v3/uploads?convert=…` does to a file: pure functions, bytes in, bytes out.

- `mms`: an image becomes a JPEG or GIF of at most `MMS_MAX_BYTES` (ClickSend's 250 kB),
  scaled down and re-compressed until it fits; a GIF that already fits stays as it is
  (animation kept).
- `fax`, `post`: an image becomes a one-page A4 PDF (img2pdf: a JPEG is embedded as is,
  never re-encoded); a PDF is checked (it opens, is not encrypted, has pages) and kept.
- `csv`: an XLSX/XLS/ODS workbook (its first sheet, through python-calamine) or a CSV in
  any common encoding and delimiter becomes UTF-8, comma-separated CSV.
- none: the file is kept as it came.

Every refusal is an `InvalidInput` that says why; `mms` refusals carry ClickSend's
`INVALID_MEDIA_FILE`. Images are opened lazily and their pixel count checked before
anything is decoded, so a small file that claims 30,000 × 30,000 pixels (a decompression
bomb) is refused without allocating gigabytes.
"""

from __future__ import annotations

import csv
import io
import warnings
from dataclasses import dataclass
from typing import Literal

from PIL import Image, ImageOps, UnidentifiedImageError
from python_calamine import CalamineError, CalamineWorkbook

from dovecote.core.errors import InvalidInput

Target = Literal["fax", "mms", "post", "csv"]
TARGETS: tuple[Target, ...] = ("fax", "mms", "post", "csv")

MMS_MAX_BYTES = 250_000  # ClickSend: "a single attachment with a size of up to 250 kB"
MMS_MAX_SIDE = 1280  # pixels; handsets show less, and it keeps most photos under the cap
MAX_PIXELS = 40_000_000  # 40 megapixels: any real photo; refused beyond, before decoding
MAX_CSV_ROWS = 1_000_000
INVALID_MEDIA_FILE = "INVALID_MEDIA_FILE"

# A4 in PDF points (1/72 inch, as img2pdf.mm_to_pt): fax machines and letters are A4 or
# US Letter; A4 fits either's margins.
_A4 = (72.0 * 210 / 25.4, 72.0 * 297 / 25.4)


@dataclass(frozen=True, slots=True)
class Converted:
    data: bytes
    content_type: str
    extension: str  # without the dot


def sniff(data: bytes) -> tuple[str, str] | None:
    """(media type, extension) from the first bytes, for the types Dovecote handles."""
    signatures: tuple[tuple[bytes, int, str, str], ...] = (
        (b"%PDF-", 0, "application/pdf", "pdf"),
        (b"\xff\xd8\xff", 0, "image/jpeg", "jpg"),
        (b"GIF87a", 0, "image/gif", "gif"),
        (b"GIF89a", 0, "image/gif", "gif"),
        (b"\x89PNG\r\n\x1a\n", 0, "image/png", "png"),
        (b"BM", 0, "image/bmp", "bmp"),
        (b"WEBP", 8, "image/webp", "webp"),
        (b"II*\x00", 0, "image/tiff", "tiff"),
        (b"MM\x00*", 0, "image/tiff", "tiff"),
        (
            b"PK\x03\x04",
            0,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "xlsx",
        ),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", 0, "application/vnd.ms-excel", "xls"),
    )
    for magic, offset, media_type, extension in signatures:
        if data[offset : offset + len(magic)] == magic:
            return media_type, extension
    return None


def convert(data: bytes, target: Target | None) -> Converted:
    if not data:
        raise InvalidInput("content: the file is empty.", field="content")
    if target is None:
        media_type, extension = sniff(data) or ("application/octet-stream", "bin")
        return Converted(data, media_type, extension)
    if target == "mms":
        return to_mms(data)
    if target == "csv":
        return to_csv(data)
    return to_pdf(data)


# --- images ------------------------------------------------------------------------


def open_image(data: bytes, *, field: str = "content", code: str | None = None) -> Image.Image:
    """The image in `data`, header read only; refused when unreadable or too large."""
    try:
        with warnings.catch_warnings():
            # Pillow warns, then raises, past its own bomb limit: ours is checked below.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError:
        # Past twice Pillow's own limit (~179 megapixels), refused by Pillow at open.
        raise InvalidInput(_too_large(field), field=field, code=code) from None
    except (UnidentifiedImageError, OSError, ValueError):
        raise InvalidInput(
            f"{field}: the file is not an image Dovecote can read.", field=field, code=code
        ) from None
    width, height = image.size
    if width * height > MAX_PIXELS:
        raise InvalidInput(
            f"The image is {width} × {height} pixels; " + _too_large(field),
            field=field,
            code=code,
        )
    return image


def _too_large(field: str) -> str:
    return f"{field}: images may have at most {MAX_PIXELS // 1_000_000} megapixels."


def _load(image: Image.Image, field: str, code: str | None) -> Image.Image:
    try:
        image.load()
    except (OSError, ValueError, SyntaxError):
        # Pillow reads headers lazily: a file cut short or corrupt fails only here.
        raise InvalidInput(f"{field}: the image is damaged.", field=field, code=code) from None
    return image


def to_mms(data: bytes) -> Converted:
    image = open_image(data, code=INVALID_MEDIA_FILE)
    kind = image.format
    if kind in ("JPEG", "GIF") and len(data) <= MMS_MAX_BYTES and max(image.size) <= MMS_MAX_SIDE:
        _load(image, "content", INVALID_MEDIA_FILE)  # must decode: a handset will
        return Converted(data, f"image/{kind.lower()}", "jpg" if kind == "JPEG" else "gif")
    frame = _load(image, "content", INVALID_MEDIA_FILE)
    frame = ImageOps.exif_transpose(frame)  # phones store rotation in EXIF; bake it in
    return Converted(_jpeg_within(_flatten(frame), MMS_MAX_BYTES), "image/jpeg", "jpg")


def _flatten(image: Image.Image) -> Image.Image:
    """RGB, transparency composed onto white (JPEG has no alpha; black would show)."""
    if image.mode in ("RGBA", "LA", "P", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, "white")
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB")


def _jpeg_within(image: Image.Image, max_bytes: int) -> bytes:
    """A JPEG of `image` no larger than `max_bytes`: scaled to MMS_MAX_SIDE, then lower
    quality, then smaller, until it fits (each step costs one encode, ~10 ms)."""
    image.thumbnail((MMS_MAX_SIDE, MMS_MAX_SIDE), Image.Resampling.LANCZOS)
    while True:
        for quality in (85, 70, 55, 40):
            out = io.BytesIO()
            image.save(out, "JPEG", quality=quality, optimize=True)
            if out.tell() <= max_bytes:
                return out.getvalue()
        width, height = image.size
        if width <= 16 or height <= 16:  # cannot happen for 250 kB; bounds the loop
            return out.getvalue()
        image = image.resize((max(1, width * 3 // 4), max(1, height * 3 // 4)))


# --- PDF ---------------------------------------------------------------------------


def check_pdf(data: bytes, field: str = "content") -> int:
    """The page count of a PDF that opens, is not encrypted and has pages."""
    # Imported here, as img2pdf in to_pdf: pypdf (with fontTools) and img2pdf (with
    # pikepdf) cost 0.11–0.13 s of CPU to import, which every process start paid; only fax,
    # post and upload conversions use them.
    import pypdf
    from pypdf.errors import PdfReadError

    try:
        reader = pypdf.PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            raise InvalidInput(f"{field}: the PDF is encrypted; send it unprotected.", field=field)
        pages = len(reader.pages)
    except InvalidInput:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError, RecursionError):
        raise InvalidInput(f"{field}: the PDF is damaged or not a PDF.", field=field) from None
    if pages == 0:
        raise InvalidInput(f"{field}: the PDF has no pages.", field=field)
    return pages


def to_pdf(data: bytes) -> Converted:
    kind = sniff(data)
    if kind is not None and kind[1] == "pdf":
        check_pdf(data)
        return Converted(data, "application/pdf", "pdf")
    image = _load(open_image(data), "content", None)
    if image.format == "JPEG" and image.mode in ("RGB", "L", "CMYK"):
        source = data  # img2pdf embeds a JPEG as is: no loss, no re-encode
    else:
        # img2pdf refuses alpha channels and some modes: hand it a flattened PNG.
        out = io.BytesIO()
        flat = _flatten(image) if image.mode not in ("1", "L") else image
        flat.save(out, "PNG")
        source = out.getvalue()
    import img2pdf  # see check_pdf

    layout = img2pdf.get_layout_fun(_A4, fit=img2pdf.FitMode.into)
    try:
        pdf: bytes = img2pdf.convert(source, layout_fun=layout, rotation=img2pdf.Rotation.ifvalid)
    except (img2pdf.ImageOpenError, ValueError, OSError) as exc:
        raise InvalidInput(
            f"content: the image cannot be made a PDF: {exc}", field="content"
        ) from None
    return Converted(pdf, "application/pdf", "pdf")


# --- CSV ---------------------------------------------------------------------------


def to_csv(data: bytes) -> Converted:
    kind = sniff(data)
    if kind is not None and kind[1] in ("xlsx", "xls"):
        rows = _workbook_rows(data)
    elif kind is not None or b"\x00" in data[:4096]:
        raise InvalidInput("content: not a CSV or spreadsheet file.", field="content")
    else:
        rows = _csv_rows(data)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    count = 0
    for row in rows:
        count += 1
        if count > MAX_CSV_ROWS:
            raise InvalidInput(f"content: more than {MAX_CSV_ROWS} rows.", field="content")
        writer.writerow(row)
    if count == 0:
        raise InvalidInput("content: the file has no rows.", field="content")
    return Converted(out.getvalue().encode(), "text/csv", "csv")


def _workbook_rows(data: bytes) -> list[list[str]]:
    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(data))
        if not workbook.sheet_names:
            raise InvalidInput("content: the workbook has no sheets.", field="content")
        sheet = workbook.get_sheet_by_index(0).to_python(skip_empty_area=True)
    except InvalidInput:
        raise
    except (CalamineError, ValueError, OSError):
        raise InvalidInput("content: the spreadsheet is damaged.", field="content") from None
    return [[_cell(value) for value in row] for row in sheet]


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # 61411111111.0 from a phone column is 61411111111
    return str(value)


def _csv_rows(data: bytes) -> list[list[str]]:
    text = _decode(data)
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(
            text[:8192], delimiters=",;\t|"
        )
    except csv.Error:
        dialect = csv.excel
    try:
        return [row for row in csv.reader(io.StringIO(text), dialect) if any(row)]
    except csv.Error as exc:
        raise InvalidInput(f"content: the CSV cannot be read: {exc}", field="content") from None


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "utf-16"):
        if encoding == "utf-16" and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
            continue
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            pass
    # Spreadsheet programs on Windows save CSV as cp1252; every byte decodes in it or latin-1.
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        return data.decode("latin-1")
