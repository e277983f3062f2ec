"""An S3-compatible `FileStore` (AWS S3, MinIO, Ceph, Garage, R2, …): several machines
running Dovecote share one bucket instead of a shared volume.

boto3, each call in a worker thread (`asyncio.to_thread`). Chosen over aiobotocore:
aiobotocore pins botocore to a narrow window per release, so it fights any other
botocore user in the same environment (moto, the tests' S3 peer, needs boto3 anyway);
the calls here are few and whole-object, so a thread per call costs nothing that
matters next to the network round trip. A PUT is atomic in S3: readers see the old or
the new object, never a part, as the protocol asks.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from botocore.config import Config
from botocore.exceptions import ClientError

from dovecote.files.keys import FileMissing, check_key

_MISSING = {"404", "NoSuchKey", "NotFound"}


@dataclass(frozen=True, slots=True)
class S3Location:
    bucket: str
    prefix: str  # "" or ends with "/"


def parse_url(url: str) -> S3Location:
    """`s3://bucket` or `s3://bucket/some/prefix` → where the files go."""
    parts = urlsplit(url)
    if parts.scheme != "s3" or not parts.netloc:
        raise ValueError(f"storage URL {url!r} is not s3://bucket[/prefix]")
    prefix = parts.path.strip("/")
    if prefix:
        check_key(prefix)  # the same rules as keys: no `..`, no empty segment
    return S3Location(parts.netloc, f"{prefix}/" if prefix else "")


class S3FileStore:
    def __init__(
        self,
        location: S3Location,
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        timeout: float = 30.0,
    ) -> None:
        # boto3 loads in ~0.3 s: imported when a bucket is configured, not by every start.
        import boto3

        self.location = location
        # Unset credentials fall back to boto3's own chain (AWS_* variables, an
        # instance role); path-style addressing works with every S3-compatible server.
        self._client: Any = boto3.session.Session().client(
            "s3",
            endpoint_url=endpoint_url,
            region_name=region or "us-east-1",
            aws_access_key_id=access_key_id,
            aws_secret_access_key=secret_access_key,
            config=Config(
                s3={"addressing_style": "path"},
                connect_timeout=timeout,
                read_timeout=timeout,
                retries={"max_attempts": 3, "mode": "standard"},
            ),
        )

    def _key(self, key: str) -> str:
        return self.location.prefix + check_key(key)

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        await asyncio.to_thread(
            self._client.put_object,
            Bucket=self.location.bucket,
            Key=self._key(key),
            Body=data,
            ContentType=content_type,
        )

    async def get(self, key: str) -> bytes:
        name = self._key(key)
        try:
            answer = await asyncio.to_thread(
                self._client.get_object, Bucket=self.location.bucket, Key=name
            )
            body: bytes = await asyncio.to_thread(answer["Body"].read)
        except ClientError as exc:
            if _code(exc) in _MISSING:
                raise FileMissing(key) from None
            raise
        return body

    async def delete(self, key: str) -> None:
        # S3 answers a DELETE of a missing key with success: nothing to translate.
        await asyncio.to_thread(
            self._client.delete_object, Bucket=self.location.bucket, Key=self._key(key)
        )

    async def exists(self, key: str) -> bool:
        try:
            await asyncio.to_thread(
                self._client.head_object, Bucket=self.location.bucket, Key=self._key(key)
            )
        except ClientError as exc:
            if _code(exc) in _MISSING:
                return False
            raise
        return True

    async def put_file(self, key: str, source: Path, content_type: str) -> None:
        # boto3's managed upload streams the file (multipart when large): never whole in
        # memory. The local file is the caller's to give up, as with the local store.
        await asyncio.to_thread(
            self._client.upload_file,
            str(source),
            self.location.bucket,
            self._key(key),
            ExtraArgs={"ContentType": content_type},
        )
        await asyncio.to_thread(source.unlink, missing_ok=True)

    @asynccontextmanager
    async def local_copy(self, key: str) -> AsyncIterator[Path]:
        # Downloaded to a temporary file (streamed by boto3), removed when done.
        handle, name = tempfile.mkstemp(prefix="dovecote-s3-")
        os.close(handle)
        path = Path(name)
        try:
            try:
                await asyncio.to_thread(
                    self._client.download_file, self.location.bucket, self._key(key), name
                )
            except ClientError as exc:
                if _code(exc) in _MISSING:
                    raise FileMissing(key) from None
                raise
            yield path
        finally:
            await asyncio.to_thread(path.unlink, missing_ok=True)


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))
