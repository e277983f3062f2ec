"""Transport registry: channel → transport, chosen by settings. The one place that knows names."""

from __future__ import annotations

from dovecote.pipeline.transports.base import Transport
from dovecote.pipeline.transports.sandbox import SandboxTransport
from dovecote.settings import Settings


def build_transports(settings: Settings) -> dict[str, Transport]:
    sandbox = SandboxTransport(
        receipt_delay=settings.sandbox_receipt_delay,
        rules=settings.sandbox_rules,
        auto_replies=settings.sandbox_auto_replies,
    )
    # Every channel uses the sandbox until a real transport is configured for it.
    transports: dict[str, Transport] = {"sms": sandbox, "default": sandbox}
    transports["email"] = _email_transport(settings)
    return transports


def _email_transport(settings: Settings) -> Transport:
    if settings.email_transport == "smtp":
        from dovecote.pipeline.transports.smtp import SmtpTransport

        return SmtpTransport.from_settings(settings)
    # Email settles at once with SMTP-shaped detail, instead of the SMS sandbox's
    # sent-then-receipt, so its events read like real delivery.
    from dovecote.pipeline.transports.email_sandbox import EmailSandboxTransport

    return EmailSandboxTransport(rules=settings.sandbox_rules)
