from __future__ import annotations

from pathlib import Path

import pytest

from dovecote.files.store import FileMissing, LocalFileStore, check_key


async def test_put_get_delete_round_trip(tmp_path: Path) -> None:
    store = LocalFileStore(tmp_path)
    await store.put("voice/ABC.wav", b"RIFF....", "audio/wav")
    assert await store.exists("voice/ABC.wav")
    assert await store.get("voice/ABC.wav") == b"RIFF...."
    await store.put("voice/ABC.wav", b"new", "audio/wav")
    assert await store.get("voice/ABC.wav") == b"new"
    assert [p.name for p in (tmp_path / "voice").iterdir()] == ["ABC.wav"]  # no temp left
    await store.delete("voice/ABC.wav")
    await store.delete("voice/ABC.wav")  # twice is fine
    assert not await store.exists("voice/ABC.wav")
    with pytest.raises(FileMissing):
        await store.get("voice/ABC.wav")


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
