"""Real files made by the tests: images of each type (Pillow), PDFs (fpdf2), spreadsheets
(XlsxWriter), and broken ones."""

from __future__ import annotations

import ast
import importlib
import io
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import clicksend
import xlsxwriter
from fpdf import FPDF
from PIL import Image

from dovecote.settings import Settings


def image(kind: str, size: tuple[int, int] = (64, 48), *, mode: str = "RGB") -> bytes:
    """A small image in Pillow format `kind` (JPEG, GIF, PNG, BMP, WEBP, TIFF)."""
    picture = Image.new(mode, size, (200, 30, 30) if mode == "RGB" else None)
    out = io.BytesIO()
    picture.save(out, kind)
    return out.getvalue()


def noisy_jpeg(size: tuple[int, int]) -> bytes:
    """A JPEG that compresses badly (random pixels): large for its size."""
    picture = Image.frombytes("RGB", size, _noise(size[0] * size[1] * 3))
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=95)
    return out.getvalue()


def _noise(count: int) -> bytes:
    # Deterministic, fast, incompressible enough for JPEG.
    state = 2463534242
    chunk = bytearray()
    for _ in range(4096):
        state ^= (state << 13) & 0xFFFFFFFF
        state ^= state >> 17
        state ^= (state << 5) & 0xFFFFFFFF
        chunk += state.to_bytes(4, "little")
    whole = bytes(chunk) * (count // len(chunk) + 1)
    return whole[:count]


def bomb_png(side: int = 20_000) -> bytes:
    """A tiny PNG claiming side × side pixels: a decompression bomb."""
    picture = Image.new("1", (side, side))
    out = io.BytesIO()
    picture.save(out, "PNG", optimize=True)
    return out.getvalue()


def pdf(pages: int = 1, *, text: str = "Hello from Dovecote") -> bytes:
    document = FPDF(format="A4")
    document.set_font("helvetica", size=14)
    for number in range(pages):
        document.add_page()
        document.cell(text=f"{text} — page {number + 1}".replace("—", "-"))
    return bytes(document.output())


def encrypted_pdf() -> bytes:
    document = FPDF()
    document.set_encryption(owner_password="owner", user_password="secret")
    document.add_page()
    document.set_font("helvetica", size=12)
    document.cell(text="locked")
    return bytes(document.output())


def xlsx(rows: list[list[object]]) -> bytes:
    out = io.BytesIO()
    workbook = xlsxwriter.Workbook(out, {"in_memory": True})
    sheet = workbook.add_worksheet("Contacts")
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            sheet.write(r, c, value)
    workbook.close()
    return out.getvalue()


# --- the official SDKs -------------------------------------------------------------

SDK5_PATH = Path(__file__).resolve().parents[1] / ".venv" / "sdk5"


def load_sdk5() -> ModuleType:
    """clicksend-client 5.0.91 (installed beside the venv: both SDKs share a name)."""
    if not SDK5_PATH.is_dir():
        raise RuntimeError(
            f"SDK 5.0.91 is missing: pip install --no-deps --target {SDK5_PATH} "
            "clicksend-client==5.0.91 (make test does it)"
        )
    if str(SDK5_PATH) not in sys.path:
        sys.path.insert(0, str(SDK5_PATH))
    return importlib.import_module("clicksend_client")


def sdk5_client(module: ModuleType, url: str, settings: Settings) -> Any:
    config = module.Configuration()
    config.host = url + "/v3"
    config.username = settings.owner_username
    config.password = settings.owner_api_key
    return module.ApiClient(config)


def sdk5_result(raw: Any) -> Any:
    """SDK 5 returns `str(dict)` of the JSON (its responses are typed `str`)."""
    assert isinstance(raw, str)
    return ast.literal_eval(raw)


def sdk6_client(url: str, settings: Settings) -> clicksend.ApiClient:
    config = clicksend.Configuration(
        host=url, username=settings.owner_username, password=settings.owner_api_key
    )
    return clicksend.ApiClient(config)
