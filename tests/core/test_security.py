"""Signed links (`security.sign` / `verify_signature`) and password hashing."""

from __future__ import annotations

import time

import pydantic
import pytest

from conftest import CHEAP_HASH_KIB, CHEAP_HASH_LANES, CHEAP_HASH_TIME
from dovecote.core import security
from dovecote.settings import Settings


def test_a_signature_verifies_until_it_expires() -> None:
    later = int(time.time()) + 60
    signature = security.sign("secret", "payload", later)
    assert security.verify_signature("secret", "payload", later, signature)
    assert not security.verify_signature("other", "payload", later, signature)
    assert not security.verify_signature("secret", "payload", int(time.time()) - 1, signature)


def test_a_non_ascii_or_surrogate_signature_is_just_wrong() -> None:
    # `hmac.compare_digest` raises TypeError on a str with non-ASCII characters.
    later = int(time.time()) + 60
    for signature in ("é", "\u00e9" * 27, "\ud800", "😀", ""):
        assert not security.verify_signature("secret", "payload", later, signature)


def test_the_hashing_cost_applies_to_new_hashes_and_old_hashes_still_verify() -> None:
    security.configure_password_hashing(
        time_cost=CHEAP_HASH_TIME, memory_kib=CHEAP_HASH_KIB, parallelism=CHEAP_HASH_LANES
    )
    old = security.hash_password("correct horse")
    try:
        security.configure_password_hashing(time_cost=2, memory_kib=64, parallelism=2)
        new = security.hash_password("correct horse")
        assert "$m=64,t=2,p=2$" in new
        assert f"$m={CHEAP_HASH_KIB},t={CHEAP_HASH_TIME},p={CHEAP_HASH_LANES}$" in old
        assert security.verify_password(old, "correct horse")
        assert security.verify_password(new, "correct horse")
        assert not security.verify_password(new, "wrong horse")
    finally:
        security.configure_password_hashing(
            time_cost=CHEAP_HASH_TIME, memory_kib=CHEAP_HASH_KIB, parallelism=CHEAP_HASH_LANES
        )


def test_settings_refuse_more_argon2_lanes_than_their_memory_holds() -> None:
    assert Settings(password_hash_memory_kib=32, password_hash_parallelism=4)
    with pytest.raises(pydantic.ValidationError, match="at least 8 per lane"):
        Settings(password_hash_memory_kib=32, password_hash_parallelism=5)
