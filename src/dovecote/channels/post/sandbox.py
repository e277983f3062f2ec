"""The letter sandbox: "printing" a letter renders its proof — each page as a PNG, the
recipient's address drawn on page 1 in the envelope window (`channels.post.proof`) —
when the dispatcher hands the letter over, as a printing house would print it, not
inside the send request. Outcomes follow the sandbox rules as for SMS (docs/sandbox.md).

Pages 2.. are the same for every recipient of a document: rendered once per document
(skipped when already stored), so a batch of 500 letters of one PDF renders it once.
Postcards come here too: their proof is both sides, the address on the back
(`proof.postcard`), stored per card.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Sequence

from PIL import Image

from dovecote.channels.post import proof
from dovecote.channels.post.compose import POSTCARD
from dovecote.files.store import FileMissing
from dovecote.pipeline.transports.base import Job, Outcome
from dovecote.pipeline.transports.sandbox import RenderingSandboxTransport


class PostSandboxTransport(RenderingSandboxTransport):
    name = "post-sandbox"

    async def send(self, jobs: Sequence[Job]) -> Sequence[Outcome]:
        self._rendered: dict[str, list[Image.Image]] = {}  # document key → its pages
        try:
            return await super().send(jobs)
        finally:
            self._rendered = {}  # this batch's pages are not kept

    async def render(self, job: Job, outcome: Outcome) -> Outcome:
        payload = job.payload or {}
        if not payload.get("document"):
            return outcome
        key = str(payload["document"])
        lines = [str(line) for line in payload.get("address") or ()]
        if job.channel == POSTCARD:
            return await self._postcard(job, outcome, key.split("\x00"), lines)
        try:
            pages = self._rendered.get(key)
            if pages is None:
                pages = self._rendered[key] = await self._pages(key)
            png = await asyncio.to_thread(proof.stamp, pages[0], lines)
            await self.files.put(proof.first_page_key(job.id), png, "image/png")
        except (FileMissing, ValueError) as exc:
            # Checked when accepted; gone or unreadable now: the letter cannot be printed.
            return Outcome("failed", error_code=300, error_text=f"Document unusable: {exc}")
        return dataclasses.replace(outcome, detail={**outcome.detail, "pages": len(pages)})

    async def _postcard(
        self, job: Job, outcome: Outcome, sides: list[str], lines: list[str]
    ) -> Outcome:
        try:
            pages = []
            for side in sides:
                if side not in self._rendered:
                    data = await self.files.get(side)
                    self._rendered[side] = await asyncio.to_thread(proof.render_pages, data)
                pages.extend(self._rendered[side])
            back = pages[1] if len(pages) > 1 else None
            pngs = await asyncio.to_thread(proof.postcard, pages[0], back, lines)
        except (FileMissing, ValueError, IndexError) as exc:
            return Outcome("failed", error_code=300, error_text=f"Document unusable: {exc}")
        for number, png in enumerate(pngs, start=1):
            await self.files.put(proof.proof_key(job.id, number), png, "image/png")
        return dataclasses.replace(outcome, detail={**outcome.detail, "pages": len(pngs)})

    async def _pages(self, key: str) -> list[Image.Image]:
        data = await self.files.get(key)
        pages = await asyncio.to_thread(proof.render_pages, data)
        if len(pages) > 1 and not await self.files.exists(proof.page_key(key, len(pages))):
            for number, png in enumerate(await asyncio.to_thread(proof.rest, pages), start=2):
                await self.files.put(proof.page_key(key, number), png, "image/png")
        return pages
