"""An MMS request's media file: fetched (or read from Dovecote's own upload link),
checked, stored once, and linked to each queued message.

ClickSend takes JPEG and GIF as they are and asks for other images to go through
`/v3/uploads?convert=mms` first; Dovecote answers the same way: anything else, anything
that does not decode, or anything over 250 kB is a 400 `INVALID_MEDIA_FILE`, before
anything is charged. The file is stored under its content hash (`mms/<sha256>.<ext>`):
one copy however many recipients or requests share it.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection

from dovecote.core.errors import InvalidInput
from dovecote.files import convert
from dovecote.files.store import FileStore
from dovecote.pipeline import media
from dovecote.pipeline.outbound import Outbound
from dovecote.settings import Settings
from dovecote.storage.tables import message_media

FIELD = "media_file"
INVALID_MEDIA_FILE = convert.INVALID_MEDIA_FILE


@dataclass(frozen=True, slots=True)
class Media:
    key: str
    content_type: str
    data: bytes


def _refuse(message: str) -> InvalidInput:
    return InvalidInput(f"{FIELD}: {message}", field=FIELD, code=INVALID_MEDIA_FILE)


async def load(url: str | None, *, store: FileStore, settings: Settings) -> Media:
    if not url or not url.strip():
        raise _refuse("the URL of a JPEG or GIF is required.")
    fetched = await media.load(
        url.strip(),
        field=FIELD,
        max_bytes=convert.MMS_MAX_BYTES,
        store=store,
        settings=settings,
        code=INVALID_MEDIA_FILE,
    )
    content_type, extension = await asyncio.to_thread(check, fetched.content)
    digest = hashlib.sha256(fetched.content).hexdigest()
    return Media(f"mms/{digest}.{extension}", content_type, fetched.content)


def check(data: bytes) -> tuple[str, str]:
    """(media type, extension) of a JPEG or GIF that decodes; refused otherwise."""
    kind = convert.sniff(data)
    if kind is None or kind[0] not in ("image/jpeg", "image/gif"):
        found = f" (this is {kind[1].upper()})" if kind else ""
        raise _refuse(
            f"MMS takes JPEG or GIF images{found}; convert the file first with "
            "POST /v3/uploads?convert=mms and send the URL it answers."
        )
    image = convert.open_image(data, field=FIELD, code=INVALID_MEDIA_FILE)
    try:
        image.load()
    except (OSError, ValueError, SyntaxError):
        raise _refuse("the image is damaged.") from None
    return kind


async def store_for(items: Sequence[Outbound], found: Media, store: FileStore) -> None:
    """Write the file once, before the rows that name it are committed: a failed commit
    leaves a content-addressed file nothing names, never a row naming nothing."""
    if any(item.ok for item in items):
        await store.put(found.key, found.data, found.content_type)


async def attach(
    conn: AsyncConnection, account_id: int, items: Sequence[Outbound], found: Media, now: int
) -> None:
    rows = [
        {
            "message_id": item.id,
            "account_id": account_id,
            "file_key": found.key,
            "content_type": found.content_type,
            "size": len(found.data),
            "created_at": now,
        }
        for item in items
        if item.ok and item.id is not None
    ]
    if rows:
        await conn.execute(message_media.insert(), rows)
