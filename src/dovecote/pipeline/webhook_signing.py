"""Standard Webhooks signatures (https://www.standardwebhooks.com/): the convention Svix and
others share, so receivers verify with an existing library instead of a hand-written check.

    webhook-id: msg_…                      unique per delivery, the same on every retry
    webhook-timestamp: 1700000000          Unix seconds of this attempt
    webhook-signature: v1,<base64 sig> [v1,<base64 sig>]

`sig` is HMAC-SHA256 over `"{id}.{timestamp}.{body}"`, keyed with the base64-decoded part
of the account's `whsec_…` secret. While a rotated-out secret is still honoured, each
attempt carries one signature per secret, space-separated, which the spec allows.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Sequence

PREFIX = "whsec_"


def new_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(24)).decode("ascii")


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(PREFIX))


def signature(secret: str, webhook_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{webhook_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def headers(
    secrets_in_use: Sequence[str], webhook_id: str, timestamp: int, body: bytes
) -> dict[str, str]:
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(
            signature(secret, webhook_id, timestamp, body) for secret in secrets_in_use
        ),
    }
