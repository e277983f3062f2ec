from __future__ import annotations

import pytest

from dovecote.core.sealing import Sealer, SealError


def test_a_sealed_value_is_not_the_clear_text_and_opens_back() -> None:
    sealer = Sealer("k1")
    sealed = sealer.seal("hunter2-password")
    assert sealed.startswith("enc:") and "hunter2" not in sealed
    assert sealer.seal(sealed) == sealed  # sealing twice does not wrap it again
    assert sealer.open(sealed) == "hunter2-password"


def test_clear_text_from_before_sealing_opens_as_itself() -> None:
    assert Sealer("k1").open("legacy-clear") == "legacy-clear"


def test_after_a_key_change_the_previous_key_opens_and_reseal_moves_to_the_new() -> None:
    old = Sealer("k1").seal("s3cret")
    rotated = Sealer("k2", ["k1"])
    assert rotated.open(old) == "s3cret" and not rotated.current(old)
    moved = rotated.reseal(old)
    assert rotated.current(moved) and Sealer("k2").open(moved) == "s3cret"
    with pytest.raises(SealError):
        Sealer("k2").open(old)  # the previous key dropped too early


def test_an_empty_key_is_refused() -> None:
    with pytest.raises(SealError, match="DOVECOTE_SECRET_KEY"):
        Sealer("")
