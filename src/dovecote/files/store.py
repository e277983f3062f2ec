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
import shutil
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
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

    async def put_file(self, key: str, source: Path, content_type: str) -> None:
        """Store the local file `source` under `key`, taking it over (it is moved, not
        read into memory): for files too big to hold, such as contact imports."""
        ...

    def local_copy(self, key: str) -> AbstractAsyncContextManager[Path]:
        """A local path holding the file under `key` while the context lasts, for readers
        that stream from disk (`FileMissing` when there is none). The local store hands
        out the file itself; a remote store would download it to a temporary file."""
        ...


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

    async def put_file(self, key: str, source: Path, content_type: str) -> None:
        path = self._path(key)
        await asyncio.to_thread(_move_atomic, source, path)

    @asynccontextmanager
    async def local_copy(self, key: str) -> AsyncIterator[Path]:
        path = self._path(key)
        if not await asyncio.to_thread(path.is_file):
            raise FileMissing(key)
        yield path


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_bytes(data)
    temporary.replace(path)


def _move_atomic(source: Path, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    shutil.move(source, temporary)  # a rename on one filesystem, a copy across two
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
