"""The API key id Email Activity shows: a public name for the key, never its row id.

The pipeline records which key sent a message by its row id in `api_keys` (digits).
SendGrid's `api_key_id` is 3 to 50 letters and digits that name a key without giving it
away; Dovecote's is `dk` and the first 20 hex digits of a SHA-256 over the row id: 22
characters, the length of SendGrid's key ids, the same on every request and every
server, and no way back to the key's secret, which never enters it.
"""

from __future__ import annotations

import hashlib

PREFIX = "dk"


def public_key_id(key_id: str | None) -> str | None:
    """The public id of the key whose row id is `key_id`. Anything that is no row id
    (already public, or written by other means) is shown as it is."""
    if key_id is None or not key_id.isdigit():
        return key_id
    digest = hashlib.sha256(f"dovecote-api-key:{int(key_id)}".encode()).hexdigest()
    return PREFIX + digest[:20]
