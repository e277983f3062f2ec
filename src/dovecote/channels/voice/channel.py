"""Voice as the pipeline sees it: ClickSend's receipt vocabulary; the sandbox speaks."""

from __future__ import annotations

from dovecote.pipeline.channel import Channel, check

VOICE = check(
    Channel(
        name="voice",
        # As SMS: every final outcome is a ClickSend delivery `receipt`, whose data
        # carries the key presses (`digits`) and call length the transport reported.
        events={
            "sent": "sent",
            "delivered": "receipt",
            "failed": "receipt",
            "expired": "receipt",
            "deferred": "deferred",
        },
        # No real voice/fax delivery exists yet (the HTTP-provider transport will be it).
        sandbox_only=True,
        sandbox_transport="voice-sandbox",
    )
)
