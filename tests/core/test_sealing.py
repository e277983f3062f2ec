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


def test_a_secret_typed_with_the_prefix_is_sealed_and_round_trips() -> None:
    sealer = Sealer("k1")
    sealed = sealer.seal("enc:whatever")
    assert sealed != "enc:whatever" and "whatever" not in sealed
    assert sealer.current(sealed) and sealer.open(sealed) == "enc:whatever"
    assert sealer.seal(sealed) == sealed  # a value a key opens is kept, not wrapped


def test_a_prefixed_clear_value_stored_unsealed_opens_as_itself_and_reseals() -> None:
    # What the old `seal` kept in clear: read as typed, sealed at the next start-up.
    sealer = Sealer("k1")
    assert sealer.open("enc:whatever") == "enc:whatever" and not sealer.current("enc:whatever")
    moved = sealer.reseal("enc:whatever")
    assert sealer.current(moved) and sealer.open(moved) == "enc:whatever"


def test_a_value_sealed_under_a_lost_key_is_refused_not_taken_for_clear_text() -> None:
    lost = Sealer("a key nobody has any more").seal("s3cret")
    with pytest.raises(SealError):
        Sealer("k2").open(lost)
    with pytest.raises(SealError):
        Sealer("k2").reseal(lost)
