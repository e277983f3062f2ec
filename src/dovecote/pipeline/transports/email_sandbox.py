"""The sandbox for email: nothing leaves the machine, outcomes look like the SMTP transport's.

The exact MIME that would have been sent is already stored (`message_content`) when the
email is accepted, so the dashboard and tests can show it; this transport only decides
the outcome. It settles at once — a relay's 250 is final — with the same detail fields
as `SmtpTransport` (`mx_server`, `attempt_num`, `response` / `reason`, `bounce_type`), so
Email Activity reads the same either way.

Scripted by recipient prefix with the account's stored rules, then the shared
`DOVECOTE_SANDBOX_RULES` (first match wins):

    "bounce@=reject"       5xx: a hard bounce (the address is then suppressed)
    "bounce@=failed"       the same
    "late@=expired"        a soft bounce ("blocked"), as after exhausted retries
    "slow@=defer:2"        the first 2 attempts are deferred (4xx), then delivered
    anything else          delivered ("delay" rules deliver at once: no receipts here)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dovecote.files.store import FileStore
from dovecote.pipeline.pushed import Pushed
from dovecote.pipeline.transports.base import Job, Outcome
from dovecote.pipeline.transports.scripts import Rule, Scripts
from dovecote.settings import Settings

MX_SERVER = "sandbox.dovecote.localhost"


class EmailSandboxTransport:
    name = "email-sandbox"

    def __init__(self, *, rules: Sequence[str] = (), refresh: float = 1.0) -> None:
        self.scripts = Scripts.of(rules, (), refresh)

    @classmethod
    def from_settings(cls, settings: Settings, files: FileStore) -> EmailSandboxTransport:
        return cls(rules=settings.sandbox_rules, refresh=settings.sandbox_refresh_seconds)

    async def start(self, pushed: Pushed | None = None) -> None:
        """Given the worker's engine, read each account's stored rules as well."""
        if pushed is not None:
            self.scripts.start(pushed.engine)

    def _rule(self, job: Job) -> Rule | None:
        address = job.recipient.lower()
        rules = self.scripts.of_account(job.account_id).rules
        return next((r for r in rules if address.startswith(r.prefix.lower())), None)

    async def send(self, jobs: Sequence[Job]) -> Sequence[Outcome]:
        await self.scripts.current()
        return [self._send_one(job) for job in jobs]

    async def settle(self, jobs: Sequence[Job]) -> Sequence[Outcome]:
        return [self._delivered(job) for job in jobs]

    async def close(self) -> None:
        return None

    def _send_one(self, job: Job) -> Outcome:
        rule = self._rule(job)
        action = rule.action if rule is not None else "delivered"
        if action in ("reject", "failed"):
            reason = "550 5.1.1 Recipient rejected (sandbox rule)"
            return Outcome(
                "failed",
                error_text=reason,
                detail=_detail(job, reason=reason, bounce_type="bounce", status="5.1.1"),
            )
        if action == "expired":
            reason = "451 4.4.7 Message expired (sandbox rule)"
            return Outcome(
                "expired",
                error_text=reason,
                detail=_detail(job, reason=reason, bounce_type="blocked"),
            )
        if action == "defer" and rule is not None and job.attempts < int(rule.argument or 1):
            reason = "451 4.3.0 Temporary failure (sandbox rule)"
            return Outcome(
                "deferred",
                error_text=reason,
                detail=_detail(job, reason=reason, bounce_type="blocked"),
            )
        return self._delivered(job)

    def _delivered(self, job: Job) -> Outcome:
        return Outcome(
            "delivered",
            transport_ref=f"sandbox-{job.id}",
            detail=_detail(job, response="250 2.0.0 Ok: kept by the sandbox"),
        )


def _detail(job: Job, **extra: Any) -> dict[str, Any]:
    return {"mx_server": MX_SERVER, "attempt_num": job.attempts + 1, **extra}
