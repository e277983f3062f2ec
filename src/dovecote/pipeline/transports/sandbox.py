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
messages as an inbound message from the recipient.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Self

from dovecote.files.store import FileStore, open_store
from dovecote.pipeline.transports.base import Job, Outcome, Reply
from dovecote.settings import Settings


@dataclass(frozen=True, slots=True)
class Rule:
    prefix: str
    action: str
    argument: str = ""


def parse_rules(lines: Sequence[str]) -> list[Rule]:
    rules = []
    for line in lines:
        prefix, sep, outcome = line.partition("=")
        action, _, argument = outcome.partition(":")
        if not sep or not prefix.strip() or action not in _ACTIONS:
            raise ValueError(f"bad sandbox rule {line!r}: use prefix=" + "|".join(sorted(_ACTIONS)))
        argument = argument.strip()
        # Checked here, not in send(): a bad number would otherwise defer every match.
        number = r"\d+(\.\d+)?" if action == "delay" else r"\d+"
        if argument and not re.fullmatch(number, argument):
            raise ValueError(f"bad sandbox rule {line!r}: {argument!r} is not a number")
        rules.append(Rule(prefix.strip(), action, argument))
    return rules


# `keys` scripts a voice call's key presses (digits); for every other channel it is
# simply `delivered`.
_ACTIONS = frozenset({"delivered", "failed", "expired", "delay", "defer", "reject", "keys"})


class SandboxTransport:
    name = "sandbox"

    def __init__(
        self, *, receipt_delay: float, rules: Sequence[str] = (), auto_replies: Sequence[str] = ()
    ) -> None:
        self.receipt_delay = receipt_delay
        self.rules = parse_rules(rules)
        self.auto_replies = [
            (prefix.strip(), text)
            for prefix, _, text in (line.partition("=") for line in auto_replies)
        ]

    @classmethod
    def from_settings(cls, settings: Settings) -> SandboxTransport:
        return cls(
            receipt_delay=settings.sandbox_receipt_delay,
            rules=settings.sandbox_rules,
            auto_replies=settings.sandbox_auto_replies,
        )

    def _rule(self, recipient: str) -> Rule | None:
        for rule in self.rules:  # a plain loop: this runs per message on the hot path
            if recipient.startswith(rule.prefix):
                return rule
        return None

    async def send(self, jobs: Sequence[Job]) -> Sequence[Outcome]:
        return [self._send_one(job) for job in jobs]

    def _send_one(self, job: Job) -> Outcome:
        rule = self._rule(job.recipient)
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
        return [self._settle_one(job) for job in jobs]

    def _settle_one(self, job: Job) -> Outcome:
        rule = self._rule(job.recipient)
        if rule is not None and rule.action == "failed":
            return Outcome(
                "failed", error_code=int(rule.argument or 300), error_text="Failed (sandbox rule)"
            )
        if rule is not None and rule.action == "expired":
            return Outcome("expired", error_code=301, error_text="Expired (sandbox rule)")
        replies = tuple(
            Reply(sender=job.recipient, recipient=job.sender, body=text)
            for prefix, text in self.auto_replies
            if job.recipient.startswith(prefix)
        )[:1]
        return Outcome("delivered", replies=replies)

    async def close(self) -> None:
        return None


class RenderingSandboxTransport(SandboxTransport):
    """A sandbox that makes something of each message it "sends" — a call's WAV, a fax's
    pages, a letter's proof — and keeps it in the file store: `render` is called for each
    message the rules let through, and may fail it (a document gone since acceptance)."""

    def __init__(
        self, files: FileStore, *, receipt_delay: float, rules: Sequence[str] = ()
    ) -> None:
        super().__init__(receipt_delay=receipt_delay, rules=rules)
        self.files = files

    @classmethod
    def from_settings(cls, settings: Settings) -> Self:
        return cls(
            open_store(settings),
            receipt_delay=settings.sandbox_receipt_delay,
            rules=settings.sandbox_rules,
        )

    async def send(self, jobs: Sequence[Job]) -> Sequence[Outcome]:
        outcomes = []
        for job in jobs:
            outcome = self._send_one(job)
            if outcome.kind == "sent":
                outcome = await self.render(job, outcome)
            outcomes.append(outcome)
        return outcomes

    async def render(self, job: Job, outcome: Outcome) -> Outcome:
        return outcome
