"""ClickSend's test email delivery receipt (`POST /v3/email/receipts`): a sample receipt
POSTed to the caller's URL, so a receiver can be tried before real mail flows.

Email receipts are pushed only (ClickSend has no email receipt list to poll), so the
URL must be an http(s) one; it gets the body the response shows. Nothing is stored and
no message is invented in the caller's history.
"""

from __future__ import annotations

import time
from typing import Any

from dovecote.core import ids
from dovecote.core.errors import InvalidInput
from dovecote.core.models import Principal
from dovecote.pipeline import webhooks

SAMPLE_DOMAIN = "dovecote.localhost"


def sample(principal: Principal, now: int) -> dict[str, Any]:
    return {
        "email": principal.user.email or f"{principal.user.username.lower()}@example.com",
        # ClickSend's email message ids carry its domain: `<UUID>@clicksend.com`.
        "message_id": f"{ids.new_id()}@{SAMPLE_DOMAIN}",
        "status": "Delivered",
        "timestamp": now,
    }


async def send_test_receipt(
    principal: Principal,
    url: str,
    *,
    allow_private: bool,
    timeout: float,  # noqa: ASYNC109 - handed to the HTTP client
) -> dict[str, Any]:
    target = url.strip()
    if not target.lower().startswith(("http://", "https://")):
        raise InvalidInput(
            "url must be an http(s) URL: email receipts are pushed, not polled.", field="url"
        )
    receipt = sample(principal, int(time.time()))
    status = await webhooks.post_json(target, receipt, allow_private=allow_private, timeout=timeout)
    if not 200 <= status < 300:
        raise InvalidInput(f"{target} answered HTTP {status} to the test receipt.", field="url")
    return receipt
