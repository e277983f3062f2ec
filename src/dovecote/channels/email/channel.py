"""Email as the pipeline sees it: SendGrid's event names, SMTP-shaped event data.

Email Activity searches these names (`delivered`, `bounce`, `deferred`) and reads the
details the transport reports (`mx_server`, `reason`, `bounce_type`, …); ClickSend's
receipt codes stay on the message row, where ClickSend's email history reads them.
"""

from __future__ import annotations

from typing import Any

from dovecote.pipeline.channel import Channel, Final, check
from dovecote.pipeline.transports.base import Job, Outcome


def _final_data(job: Job, outcome: Outcome, final: Final) -> dict[str, Any]:
    data: dict[str, Any] = {}
    if final.kind != "delivered" and outcome.error_text:
        data["reason"] = outcome.error_text
    return {**data, **outcome.detail}


EMAIL = check(
    Channel(
        name="email",
        events={
            "sent": "sent",
            "delivered": "delivered",
            "failed": "bounce",
            "expired": "bounce",
            "deferred": "deferred",
        },
        final_data=_final_data,
        sandbox_transport="email-sandbox",
    )
)
