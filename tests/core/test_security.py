"""Signed links: `security.sign` / `verify_signature`."""

from __future__ import annotations

import time

from dovecote.core import security


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
