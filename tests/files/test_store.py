"""The file-store contract, run against every store: the local directory and an
S3-compatible bucket on a real S3 server (moto's server mode) on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from dovecote.files.keys import check_key
from dovecote.files.s3 import S3FileStore, S3Location, parse_url
from dovecote.files.store import FileMissing, FileStore, LocalFileStore, open_store
from dovecote.settings import Settings
from files_support import ACCESS_KEY, SECRET_KEY, S3Server, s3_server


@pytest.fixture(scope="module")
def s3() -> Iterator[S3Server]:
    with s3_server() as server:
        yield server


def s3_store(server: S3Server, prefix: str = "") -> S3FileStore:
    return S3FileStore(
        S3Location(server.new_bucket(), prefix),
        endpoint_url=server.endpoint_url,
        access_key_id=ACCESS_KEY,
        secret_access_key=SECRET_KEY,
    )


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> FileStore:
    if request.param == "local":
        return LocalFileStore(tmp_path)
    server: S3Server = request.getfixturevalue("s3")
    return s3_store(server, "dovecote/")


async def test_put_get_delete_round_trip(store: FileStore) -> None:
    await store.put("voice/ABC.wav", b"RIFF....", "audio/wav")
    assert await store.exists("voice/ABC.wav")
    assert await store.get("voice/ABC.wav") == b"RIFF...."
    await store.put("voice/ABC.wav", b"new", "audio/wav")
    assert await store.get("voice/ABC.wav") == b"new"
    await store.delete("voice/ABC.wav")
    await store.delete("voice/ABC.wav")  # twice is fine
    assert not await store.exists("voice/ABC.wav")
    with pytest.raises(FileMissing):
        await store.get("voice/ABC.wav")


async def test_binary_content_survives_byte_for_byte(store: FileStore) -> None:
    data = bytes(range(256)) * 1000
    await store.put("uploads/blob.bin", data, "application/octet-stream")
    assert await store.get("uploads/blob.bin") == data


async def test_keys_that_could_escape_are_refused_by_every_store(store: FileStore) -> None:
    with pytest.raises(ValueError):
        await store.put("../outside", b"x", "text/plain")
    with pytest.raises(ValueError):
        await store.get("a/../../b")


async def test_a_local_store_leaves_no_temporary_file(tmp_path: Path) -> None:
    store = LocalFileStore(tmp_path)
    await store.put("voice/ABC.wav", b"RIFF", "audio/wav")
    assert [p.name for p in (tmp_path / "voice").iterdir()] == ["ABC.wav"]


async def test_an_s3_store_keeps_its_files_under_the_prefix_with_their_type(
    s3: S3Server,
) -> None:
    store = s3_store(s3, "team/files/")
    await store.put("uploads/x.pdf", b"%PDF-1.4", "application/pdf")
    head = s3.client().head_object(Bucket=store.location.bucket, Key="team/files/uploads/x.pdf")
    assert head["ContentType"] == "application/pdf"
    assert head["ContentLength"] == 8


async def test_the_storage_url_selects_the_s3_store(s3: S3Server, tmp_path: Path) -> None:
    bucket = s3.new_bucket()
    settings = Settings(
        storage_url=f"s3://{bucket}/shared",
        s3_endpoint_url=s3.endpoint_url,
        s3_access_key_id=ACCESS_KEY,
        s3_secret_access_key=SECRET_KEY,
        files_dir=str(tmp_path),
    )
    store = open_store(settings)
    assert isinstance(store, S3FileStore)
    await store.put("a.txt", b"shared", "text/plain")
    assert s3.client().get_object(Bucket=bucket, Key="shared/a.txt")["Body"].read() == b"shared"
    assert not tmp_path.exists() or not any(tmp_path.iterdir())  # noqa: ASYNC240


def test_without_a_storage_url_the_local_directory_is_the_store(tmp_path: Path) -> None:
    store = open_store(Settings(files_dir=str(tmp_path)))
    assert isinstance(store, LocalFileStore)
    assert store.root == tmp_path


@pytest.mark.parametrize(
    ("url", "bucket", "prefix"),
    [
        ("s3://b", "b", ""),
        ("s3://b/", "b", ""),
        ("s3://b/x/y/", "b", "x/y/"),
        ("s3://b/x", "b", "x/"),
    ],
)
def test_storage_urls_name_a_bucket_and_a_prefix(url: str, bucket: str, prefix: str) -> None:
    assert parse_url(url) == S3Location(bucket, prefix)


@pytest.mark.parametrize("url", ["http://b/x", "s3:///x", "s3://b/../x", "b/x"])
def test_a_storage_url_that_is_not_a_bucket_is_refused(url: str) -> None:
    with pytest.raises(ValueError):
        parse_url(url)


def test_settings_refuse_a_storage_url_that_is_not_s3() -> None:
    with pytest.raises(ValueError):
        Settings(storage_url="/var/files")


@pytest.mark.parametrize(
    "key", ["../etc/passwd", "/abs", "a//b", "a/./b", "a/../b", "", "a b", "..", "a/"]
)
def test_keys_that_could_escape_the_root_are_refused(key: str) -> None:
    with pytest.raises(ValueError):
        check_key(key)


@pytest.mark.parametrize("key", ["a", "uploads/2026/x.pdf", "a.b-c_d", "x/.hidden"])
def test_plain_keys_are_accepted(key: str) -> None:
    assert check_key(key) == key


async def test_a_local_file_is_taken_over_and_read_back_in_place(tmp_path: Path) -> None:
    store = LocalFileStore(tmp_path / "root")
    source = tmp_path / "download.tmp"
    source.write_bytes(b"phone\n+14155552671\n")

    await store.put_file("imports/a.csv", source, "text/csv")

    assert not source.exists()  # moved, never read into memory
    async with store.local_copy("imports/a.csv") as path:
        assert path.read_bytes() == b"phone\n+14155552671\n"
    with pytest.raises(FileMissing):
        async with store.local_copy("imports/b.csv"):
            pass


async def test_every_store_takes_over_a_local_file_and_lends_a_local_copy(
    store: FileStore, tmp_path: Path
) -> None:
    source = tmp_path / "big.csv"
    source.write_bytes(b"phone\n" + b"+14155552671\n" * 10_000)

    await store.put_file("imports/big.csv", source, "text/csv")

    assert not source.exists()  # the store owns it now
    assert await store.get("imports/big.csv") == b"phone\n" + b"+14155552671\n" * 10_000
    async with store.local_copy("imports/big.csv") as path:
        assert path.stat().st_size == 6 + 13 * 10_000
    with pytest.raises(FileMissing):
        async with store.local_copy("imports/none.csv"):
            pass
