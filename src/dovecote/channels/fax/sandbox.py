"""The fax sandbox: each fax is rendered to what the receiving machine would print — a
1-bit Group 4 TIFF at 204 × 196 dpi (`fax/<message_id>.tiff`) and a PNG per page
(`fax/<message_id>/page-<n>.png`, served at `/sandbox/fax/<id>/page/<n>.png`).
Outcomes follow the sandbox rules as for SMS (docs/sandbox.md)."""

from __future__ import annotations

import asyncio
import dataclasses

from dovecote.channels.fax import document
from dovecote.core.errors import InvalidInput
from dovecote.files.store import FileMissing, FileStore
from dovecote.pipeline.transports.base import Job, Outcome
from dovecote.pipeline.transports.sandbox import RenderingSandboxTransport


def tiff_key(message_id: str) -> str:
    return f"fax/{message_id}.tiff"


def page_key(message_id: str, page: int) -> str:
    return f"fax/{message_id}/page-{page}.png"


async def render(files: FileStore, message_id: str, pdf: bytes) -> int:
    """Keep the TIFF and page PNGs of `pdf` for `message_id`; returns the page count."""
    tiff = await asyncio.to_thread(document.render_tiff, pdf)
    pages = await asyncio.to_thread(document.tiff_pages_as_png, tiff)
    await files.put(tiff_key(message_id), tiff, "image/tiff")
    for number, png in enumerate(pages, start=1):
        await files.put(page_key(message_id, number), png, "image/png")
    return len(pages)


class FaxSandboxTransport(RenderingSandboxTransport):
    name = "fax-sandbox"

    async def render(self, job: Job, outcome: Outcome) -> Outcome:
        key = (job.payload or {}).get("document")
        try:
            pdf = await self.files.get(str(key))
            pages = await render(self.files, job.id, pdf)
        except (FileMissing, InvalidInput, ValueError) as exc:
            # Checked when accepted; gone or unreadable now: the fax cannot be sent.
            return Outcome("failed", error_code=300, error_text=f"Document unusable: {exc}")
        return dataclasses.replace(outcome, detail={**outcome.detail, "pages": pages})

    def _settle_one(self, job: Job) -> Outcome:
        outcome = super()._settle_one(job)
        if outcome.kind != "delivered":
            return outcome
        pages = (job.payload or {}).get("pages")
        return dataclasses.replace(outcome, replies=(), detail={"pages": pages})
