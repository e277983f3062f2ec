"""`POST /v3/uploads`: decode, convert, store, record — and forget expired uploads.

The converted file goes to the file store under a random key (`uploads/<id>.<ext>`,
122 random bits), the row to `uploads` in the request's transaction. The answer's URL is
a signed link (`files.links`) valid until the upload expires; the send endpoints take
it back without fetching it (`pipeline.media`). Conversion is CPU work (an image
re-encoded, a workbook parsed): it runs in a thread, off the event loop.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
import time
import uuid
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from dovecote.core.errors import InvalidInput
from dovecote.core.models import Principal
from dovecote.files import convert as conversions
from dovecote.files.store import FileStore
from dovecote.pipeline.jobs import JobContext, PeriodicJob
from dovecote.settings import Settings
from dovecote.storage.tables import uploads

log = logging.getLogger("dovecote.uploads")

BATCH = 500


@dataclass(frozen=True, slots=True)
class Upload:
    upload_id: int
    user_id: int
    file_key: str
    file_name: str
    content_type: str
    size: int
    created_at: int
    expires_at: int


def decode(content: str) -> bytes:
    """Standard or URL-safe base64, line breaks allowed (as `base64 -w76` writes it)."""
    text = "".join(content.split())
    try:
        if "-" in text or "_" in text:
            return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput("content: not valid base64.", field="content") from None


def parse_target(raw: str | None) -> conversions.Target:
    """The conversion asked for; the spec requires one (`postcard`, which SDK 6's docs
    list, converts as `post` does)."""
    value = (raw or "").strip().lower()
    if value == "postcard":
        return "post"
    for target in conversions.TARGETS:
        if value == target:
            return target
    choices = ", ".join(conversions.TARGETS)
    if not value:
        raise InvalidInput(f"convert is required: one of {choices}.", field="convert")
    raise InvalidInput(f"convert: {raw!r} is not one of {choices}.", field="convert")


async def create_upload(
    conn: AsyncConnection,
    store: FileStore,
    principal: Principal,
    *,
    content: str,
    convert: str | None,
    ttl: int,
    now: float | None = None,
) -> Upload:
    target = parse_target(convert)
    data = decode(content)
    converted = await asyncio.to_thread(conversions.convert, data, target)
    created = int(time.time() if now is None else now)
    name = f"{uuid.uuid4().hex.upper()}.{converted.extension}"
    key = f"uploads/{name}"
    await store.put(key, converted.data, converted.content_type)
    # The file is written before the row: a failed insert leaves an unreferenced file
    # (never a row pointing at nothing), and the store overwrites nothing under a new key.
    values = {
        "account_id": principal.account.id,
        "user_id": principal.user.id,
        "file_key": key,
        "file_name": name,
        "content_type": converted.content_type,
        "size": len(converted.data),
        "convert": target,
        "created_at": created,
        "expires_at": created + ttl,
    }
    upload_id = (await conn.execute(uploads.insert().returning(uploads.c.id), values)).scalar_one()
    return Upload(
        upload_id=int(upload_id),
        user_id=principal.user.id,
        file_key=key,
        file_name=name,
        content_type=converted.content_type,
        size=len(converted.data),
        created_at=created,
        expires_at=created + ttl,
    )


async def purge_expired(ctx: JobContext, *, now: float | None = None) -> int:
    """Delete expired uploads' files, then their rows (a crash in between only repeats
    the file deletes, which succeed on missing files). From the process's own store
    (`ctx.files`), which the API wrote them to."""
    store = ctx.files
    cutoff = int(time.time() if now is None else now)
    removed = 0
    while True:
        async with ctx.engine.connect() as conn:
            rows = (
                await conn.execute(
                    sa.select(uploads.c.id, uploads.c.file_key)
                    .where(uploads.c.expires_at < cutoff)
                    .limit(BATCH)
                )
            ).all()
        for row in rows:
            await store.delete(row.file_key)
        if rows:
            async with ctx.engine.begin() as conn:
                await conn.execute(uploads.delete().where(uploads.c.id.in_([r.id for r in rows])))
        removed += len(rows)
        if len(rows) < BATCH:
            if removed:
                log.info("uploads: deleted %d expired files", removed)
            return removed


async def _run(ctx: JobContext) -> int:
    return await purge_expired(ctx)


def job(settings: Settings) -> PeriodicJob:
    """The worker's periodic hook (listed in `dovecote.wiring.JOBS`)."""
    return PeriodicJob(
        name="upload-expiry", interval=settings.activity_retention_interval, run=_run
    )
