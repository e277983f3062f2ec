"""File keys every store shares: what a key may look like, and the missing-file error."""

from __future__ import annotations

import re

# Letters, digits, `._-` per segment; no empty, `.` or `..` segment: a key can never
# leave the store's root, whatever a caller passes.
_KEY = re.compile(r"^(?!.*(?:^|/)\.{1,2}(?:/|$))[A-Za-z0-9._-]+(?:/[A-Za-z0-9._-]+)*$")


class FileMissing(LookupError):
    """No file is stored under this key."""


def check_key(key: str) -> str:
    if len(key) > 512 or not _KEY.match(key):
        raise ValueError(f"invalid file key {key!r}")
    return key
