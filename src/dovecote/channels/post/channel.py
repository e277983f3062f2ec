"""Post as the pipeline sees it: letters and postcards, sandbox delivery only.

No printing house is connected yet, so both specs say `sandbox_only`. Letters go to the
post sandbox (`channels.post.sandbox`), which renders each letter's or postcard's proof
when it is dispatched instead of printing it. Both settle by the sandbox rules.
"""

from __future__ import annotations

from dovecote.pipeline.channel import Channel, check
from dovecote.pipeline.transports.base import OutcomeKind

_EVENTS: dict[OutcomeKind, str] = {
    "sent": "sent",
    "delivered": "receipt",
    "failed": "receipt",
    "expired": "receipt",
    "deferred": "deferred",
}

# The names ClickSend's usage report gives (`/account/usage`: "post", "postcards").
LETTER = check(
    Channel(name="post", events=_EVENTS, sandbox_transport="post-sandbox", sandbox_only=True)
)
POSTCARD = check(
    Channel(name="postcards", events=_EVENTS, sandbox_transport="post-sandbox", sandbox_only=True)
)
