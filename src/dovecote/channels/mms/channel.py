"""MMS as the pipeline sees it: ClickSend's receipt vocabulary; the sandbox by default.

MMS leave for real only through a route to an `http` connector (an upstream ClickSend or
Dovecote, which fetches the media through a signed link: the row's payload names the
stored file). No transport configured per channel can carry media, so the spec says
`sandbox_only`: a worker configured with another transport for `mms` refuses to start
rather than hand media messages to a transport that cannot carry them.
"""

from __future__ import annotations

from dovecote.pipeline.channel import Channel, check

MMS = check(
    Channel(
        name="mms",
        # The sandbox transport is channel-blind: SMS's scripted outcomes (failed,
        # expired, delay, defer, reject by recipient prefix) and receipts serve MMS too.
        events={
            "sent": "sent",
            "delivered": "receipt",
            "failed": "receipt",
            "expired": "receipt",
            "deferred": "deferred",
        },
        sandbox_only=True,
    )
)
