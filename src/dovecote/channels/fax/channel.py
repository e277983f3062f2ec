"""Fax as the pipeline sees it: ClickSend's receipt vocabulary; the sandbox prints pages."""

from __future__ import annotations

from dovecote.pipeline.channel import Channel, check

FAX = check(
    Channel(
        name="fax",
        events={
            "sent": "sent",
            "delivered": "receipt",
            "failed": "receipt",
            "expired": "receipt",
            "deferred": "deferred",
        },
        # No real voice/fax delivery exists yet (the HTTP-provider transport will be it).
        sandbox_only=True,
        sandbox_transport="fax-sandbox",
    )
)
