"""Post as the pipeline sees it: letters and postcards, sandbox delivery only.

No printing house is connected yet, so both specs say `sandbox_only`: the SMS sandbox
transport (channel-blind, scripted by recipient prefix) settles them, and the sandbox
renders a proof of each letter (`channels.post.proof`) instead of printing it.
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
LETTER = check(Channel(name="post", events=_EVENTS, sandbox_only=True))
POSTCARD = check(Channel(name="postcards", events=_EVENTS, sandbox_only=True))
