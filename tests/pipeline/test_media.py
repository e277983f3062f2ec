"""`pipeline.media.load`: Dovecote's own links come from the store, others are fetched."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from dovecote.core.errors import InvalidInput
from dovecote.files import links
from dovecote.files.store import LocalFileStore
from dovecote.pipeline import media
from dovecote.settings import Settings
from fetch_support import file_server


def settings(**values: object) -> Settings:
    return Settings(secret_key="media-test-secret", **values)  # type: ignore[arg-type]


async def test_an_own_link_is_read_from_the_store_without_a_fetch(tmp_path: Path) -> None:
    store = LocalFileStore(tmp_path)
    await store.put("uploads/A.gif", b"GIF89a...", "image/gif")
    config = settings(fetch_allow_private=False)  # a fetch of 127.0.0.1 would be refused
    url = links.signed_url(
        "uploads/A.gif",
        secret=config.secret_key,
        base_url="http://127.0.0.1:9",  # nothing listens there
        expires_at=int(time.time()) + 60,
    )
    loaded = await media.load(url, field="media_file", max_bytes=100, store=store, settings=config)
    assert loaded.content == b"GIF89a..."


async def test_an_own_link_whose_file_is_gone_says_so(tmp_path: Path) -> None:
    config = settings()
    url = links.signed_url(
        "uploads/gone.gif", secret=config.secret_key, base_url="http://x", expires_at=2**40
    )
    with pytest.raises(InvalidInput, match="expired") as refused:
        await media.load(
            url,
            field="media_file",
            max_bytes=100,
            store=LocalFileStore(tmp_path),
            settings=config,
            code="INVALID_MEDIA_FILE",
        )
    assert refused.value.code == "INVALID_MEDIA_FILE"


async def test_a_link_signed_by_someone_else_is_fetched_like_any_url(tmp_path: Path) -> None:
    with file_server() as server:
        url = server.serve("/files/uploads/A.gif?expires=9999999999&signature=x", b"remote")
        server.files[
            "/files/uploads/A.gif?expires=9999999999&signature=x"
        ].content_type = "image/gif"
        loaded = await media.load(
            url,
            field="media_file",
            max_bytes=100,
            store=LocalFileStore(tmp_path),
            settings=settings(),
        )
    assert loaded.content == b"remote"
    assert loaded.content_type == "image/gif"


async def test_a_private_address_is_refused_with_the_fields_code(tmp_path: Path) -> None:
    with file_server() as server:
        url = server.serve("/a.gif", b"GIF89a")
        with pytest.raises(InvalidInput) as refused:
            await media.load(
                url,
                field="media_file",
                max_bytes=100,
                store=LocalFileStore(tmp_path),
                settings=settings(fetch_allow_private=False),
                code="INVALID_MEDIA_FILE",
            )
    assert refused.value.code == "INVALID_MEDIA_FILE"
    assert refused.value.field == "media_file"
    assert server.hits == []


async def test_a_stored_file_over_the_cap_is_refused(tmp_path: Path) -> None:
    store = LocalFileStore(tmp_path)
    await store.put("uploads/big.jpg", b"x" * 101, "image/jpeg")
    config = settings()
    url = links.signed_url(
        "uploads/big.jpg", secret=config.secret_key, base_url="http://x", expires_at=2**40
    )
    with pytest.raises(InvalidInput, match="larger than 100 bytes"):
        await media.load(url, field="media_file", max_bytes=100, store=store, settings=config)
