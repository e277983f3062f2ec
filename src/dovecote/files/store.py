"""One interface for the files Dovecote keeps: uploads, converted media, sandbox renders
(voice WAVs, fax pages, letter proofs) and exports.

Keys are relative, slash-separated names chosen by the caller (`uploads/<id>.pdf`,
`voice/<message_id>.wav`); the store decides where the bytes live. The local directory
is the default; an S3-compatible store (several machines sharing files) implements the
same protocol. Callers never build a path themselves.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Protocol

from dovecote.files.keys import FileMissing, check_key
from dovecote.files.s3 import S3FileStore, parse_url
from dovecote.settings import Settings

__all__ = ["FileMissing", "FileStore", "LocalFileStore", "check_key", "open_store"]


class FileStore(Protocol):
    async def put(self, key: str, data: bytes, content_type: str) -> None:
        """Store `data` under `key`, replacing what was there; readers see the old or
        the new file, never a part."""
        ...

    async def get(self, key: str) -> bytes:
        """The bytes under `key`; `FileMissing` when there are none."""
        ...

    async def delete(self, key: str) -> None:
        """Forget `key`; deleting a missing key is not an error."""
        ...

    async def exists(self, key: str) -> bool: ...


class LocalFileStore:
    """Files under one directory. Writes go to a temporary name and are renamed into
    place (atomic on POSIX); file I/O runs in a thread, off the event loop."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        path = self._path(key)
        await asyncio.to_thread(_write_atomic, path, data)

    async def get(self, key: str) -> bytes:
        path = self._path(key)
        try:
            return await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError:
            raise FileMissing(key) from None

    async def delete(self, key: str) -> None:
        path = self._path(key)
        await asyncio.to_thread(path.unlink, missing_ok=True)

    async def exists(self, key: str) -> bool:
        return await asyncio.to_thread(self._path(key).is_file)


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_bytes(data)
    temporary.replace(path)


def open_store(settings: Settings) -> FileStore:
    """The store the settings name: `DOVECOTE_STORAGE_URL=s3://bucket/prefix` an
    S3-compatible bucket, unset the local directory `DOVECOTE_FILES_DIR`."""
    if settings.storage_url:
        return S3FileStore(
            parse_url(settings.storage_url),
            endpoint_url=settings.s3_endpoint_url,
            region=settings.s3_region,
            access_key_id=settings.s3_access_key_id,
            secret_access_key=settings.s3_secret_access_key,
        )
    return LocalFileStore(settings.files_dir)
