"""The default transport: accepts everything, nothing leaves the machine.

Outcomes are scripted by recipient prefix (`DOVECOTE_SANDBOX_RULES`, first match
wins, see docs/sandbox.md) so applications can exercise their failure handling:

    "+1555=failed:302"   submitted, then a failure receipt with error code 302
    "+1556=expired"      submitted, then an expired receipt
    "+1557=delay:30"     delivered, but the receipt comes after 30 s
    "+1558=defer:2"      the first 2 attempts fail temporarily, then delivered
    "+1559=reject"       refused at submission (permanent failure, no receipt delay)
    "+1560=keys:42"      delivered; a call that asks for input hears the keys 4 2 pressed

Anything unmatched is delivered after `DOVECOTE_SANDBOX_RECEIPT_DELAY` seconds.
Auto-replies (`DOVECOTE_SANDBOX_AUTO_REPLIES`, "prefix=text") answer delivered
messages as an inbound message from the recipient. An account's own rules and replies,
stored and edited at runtime (`transports/scripts.py`), come before the settings'.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Self

from dovecote.files.store import FileStore
from dovecote.pipeline.pushed import Pushed
from dovecote.pipeline.transports.base import Job, Outcome, Reply
from dovecote.pipeline.transports.scripts import Rule, Scripts
from dovecote.settings import Settings


class SandboxTransport:
    name = "sandbox"
    auto_reply = True  # delivered messages may be answered (SMS, MMS)

    def __init__(
        self,
        *,
        receipt_delay: float,
        rules: Sequence[str] = (),
        auto_replies: Sequence[str] = (),
        refresh: float = 1.0,
    ) -> None:
        self.receipt_delay = receipt_delay
        self.scripts = Scripts.of(rules, auto_replies, refresh)

    @classmethod
    def from_settings(cls, settings: Settings, files: FileStore) -> SandboxTransport:
        return cls(
            receipt_delay=settings.sandbox_receipt_delay,
            rules=settings.sandbox_rules,
            auto_replies=settings.sandbox_auto_replies,
            refresh=settings.sandbox_refresh_seconds,
        )

    async def start(self, pushed: Pushed | None = None) -> None:
        """Given the worker's engine, read each account's stored scripts as well."""
        if pushed is not None:
            self.scripts.start(pushed.engine)

    def _rule(self, job: Job) -> Rule | None:
        # A plain loop: this runs per message on the hot path.
        for rule in self.scripts.of_account(job.account_id).rules:
            if job.recipient.startswith(rule.prefix):
                return rule
        return None

    async def send(self, jobs: Sequence[Job]) -> Sequence[Outcome]:
        await self.scripts.current()
        return [self._send_one(job) for job in jobs]

    def _send_one(self, job: Job) -> Outcome:
        rule = self._rule(job)
        ref = f"sandbox-{job.id}"
        if rule is not None and rule.action == "reject":
            return Outcome(
                "failed",
                error_code=int(rule.argument or 300),
                error_text="Rejected by sandbox rule",
            )
        # `job.attempts` counts the attempts before this one: defer:2 fails attempts 1 and 2.
        if rule is not None and rule.action == "defer" and job.attempts < int(rule.argument or 1):
            return Outcome("deferred", error_text="Temporary failure (sandbox rule)")
        delay = (
            float(rule.argument)
            if rule is not None and rule.action == "delay"
            else self.receipt_delay
        )
        return Outcome("sent", transport_ref=ref, follow_up_in=delay)

    async def settle(self, jobs: Sequence[Job]) -> Sequence[Outcome]:
        await self.scripts.current()
        return [self._settle_one(job) for job in jobs]

    def _settle_one(self, job: Job) -> Outcome:
        rule = self._rule(job)
        if rule is not None and rule.action == "failed":
            return Outcome(
                "failed", error_code=int(rule.argument or 300), error_text="Failed (sandbox rule)"
            )
        if rule is not None and rule.action == "expired":
            return Outcome("expired", error_code=301, error_text="Expired (sandbox rule)")
        replies = tuple(
            Reply(sender=job.recipient, recipient=job.sender, body=text)
            for prefix, text in self.scripts.of_account(job.account_id).replies
            if self.auto_reply and job.recipient.startswith(prefix)
        )[:1]
        return Outcome("delivered", replies=replies)

    async def close(self) -> None:
        return None


class RenderingSandboxTransport(SandboxTransport):
    """A sandbox that makes something of each message it "sends" — a call's WAV, a fax's
    pages, a letter's proof — and keeps it in the file store: `render` is called for each
    message the rules let through, and may fail it (a document gone since acceptance).
    Nobody answers a call, a fax or a letter with an SMS: no auto-replies."""

    auto_reply = False

    def __init__(
        self,
        files: FileStore,
        *,
        receipt_delay: float,
        rules: Sequence[str] = (),
        refresh: float = 1.0,
    ) -> None:
        super().__init__(receipt_delay=receipt_delay, rules=rules, refresh=refresh)
        self.files = files

    @classmethod
    def from_settings(cls, settings: Settings, files: FileStore) -> Self:
        return cls(
            files,
            receipt_delay=settings.sandbox_receipt_delay,
            rules=settings.sandbox_rules,
            refresh=settings.sandbox_refresh_seconds,
        )

    async def send(self, jobs: Sequence[Job]) -> Sequence[Outcome]:
        await self.scripts.current()
        outcomes = []
        for job in jobs:
            outcome = self._send_one(job)
            if outcome.kind == "sent":
                outcome = await self.render(job, outcome)
            outcomes.append(outcome)
        return outcomes

    async def render(self, job: Job, outcome: Outcome) -> Outcome:
        return outcome
