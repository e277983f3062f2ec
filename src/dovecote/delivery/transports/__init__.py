"""Transport registry: channel → transport, chosen by settings. The one place that knows names."""

from __future__ import annotations

from dovecote.delivery.transports.base import Transport
from dovecote.delivery.transports.sandbox import SandboxTransport
from dovecote.settings import Settings


def build_transports(settings: Settings) -> dict[str, Transport]:
    sandbox = SandboxTransport(
        receipt_delay=settings.sandbox_receipt_delay,
        rules=settings.sandbox_rules,
        auto_replies=settings.sandbox_auto_replies,
    )
    # Every channel uses the sandbox until a real transport is configured for it.
    return {"sms": sandbox, "default": sandbox}
