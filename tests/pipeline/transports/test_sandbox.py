"""The sandbox transport on its own: scripted outcomes by recipient prefix, auto-replies."""

from __future__ import annotations

import pytest

from dovecote import wiring
from dovecote.files.store import open_store
from dovecote.pipeline.transports import registry
from dovecote.pipeline.transports.base import Job, Reply
from dovecote.pipeline.transports.email_sandbox import EmailSandboxTransport
from dovecote.pipeline.transports.sandbox import SandboxTransport
from dovecote.pipeline.transports.scripts import parse_rules
from dovecote.settings import Settings


def job(recipient: str = "+12025550100", *, attempts: int = 0, sender: str = "Dovecote") -> Job:
    return Job(
        id="01900000-0000-7000-8000-000000000001",
        account_id=1,
        user_id=1,
        channel="sms",
        sender=sender,
        recipient=recipient,
        subject=None,
        body="Hello",
        attempts=attempts,
        custom_string=None,
        created_at=0,
        sent_at=None,
        transport_ref=None,
    )


async def test_an_unmatched_recipient_is_sent_then_delivered_after_the_receipt_delay() -> None:
    transport = SandboxTransport(receipt_delay=2.5)

    [sent] = await transport.send([job()])
    [settled] = await transport.settle([job()])

    assert sent.kind == "sent"
    assert sent.follow_up_in == 2.5
    assert sent.transport_ref == f"sandbox-{job().id}"
    assert settled.kind == "delivered"
    assert settled.replies == ()


@pytest.mark.parametrize(
    ("rule", "kind", "error_code"),
    [("failed:302", "failed", 302), ("failed", "failed", 300), ("expired", "expired", 301)],
)
async def test_failure_rules_are_submitted_first_and_fail_at_the_receipt(
    rule: str, kind: str, error_code: int
) -> None:
    transport = SandboxTransport(receipt_delay=0, rules=[f"+1555={rule}"])

    [sent] = await transport.send([job("+15550001111")])
    [settled] = await transport.settle([job("+15550001111")])

    assert sent.kind == "sent"
    assert (settled.kind, settled.error_code) == (kind, error_code)
    assert settled.error_text


async def test_reject_fails_at_submission_with_its_code() -> None:
    transport = SandboxTransport(receipt_delay=0, rules=["+1559=reject", "+1560=reject:305"])

    [plain, coded] = await transport.send([job("+15590000000"), job("+15600000000")])

    assert (plain.kind, plain.error_code) == ("failed", 300)
    assert (coded.kind, coded.error_code) == ("failed", 305)


async def test_delay_overrides_the_receipt_delay() -> None:
    transport = SandboxTransport(receipt_delay=1, rules=["+1557=delay:30"])

    [delayed, normal] = await transport.send([job("+15570000000"), job("+12025550100")])

    assert delayed.follow_up_in == 30
    assert normal.follow_up_in == 1


@pytest.mark.parametrize(("attempts", "kind"), [(0, "deferred"), (1, "deferred"), (2, "sent")])
async def test_defer_n_fails_exactly_the_first_n_attempts(attempts: int, kind: str) -> None:
    transport = SandboxTransport(receipt_delay=0, rules=["+1558=defer:2"])

    [outcome] = await transport.send([job("+15580000000", attempts=attempts)])

    assert outcome.kind == kind


async def test_defer_without_a_count_fails_once() -> None:
    transport = SandboxTransport(receipt_delay=0, rules=["+1558=defer"])

    [first] = await transport.send([job("+15580000000", attempts=0)])
    [second] = await transport.send([job("+15580000000", attempts=1)])

    assert (first.kind, second.kind) == ("deferred", "sent")


async def test_the_first_matching_rule_wins() -> None:
    transport = SandboxTransport(receipt_delay=0, rules=["+15551=expired", "+1555=failed:302"])

    [specific, general] = await transport.settle([job("+15551000000"), job("+15552000000")])

    assert specific.kind == "expired"
    assert (general.kind, general.error_code) == ("failed", 302)


async def test_a_batch_gets_one_outcome_per_job_in_order() -> None:
    transport = SandboxTransport(receipt_delay=0, rules=["+1559=reject"])
    jobs = [job("+12025550100"), job("+15590000000"), job("+12025550101")]

    outcomes = await transport.send(jobs)

    assert [o.kind for o in outcomes] == ["sent", "failed", "sent"]


async def test_an_auto_reply_answers_a_delivered_message_from_its_recipient() -> None:
    transport = SandboxTransport(
        receipt_delay=0, auto_replies=["+1415=Thanks!", "+14155=Never used"]
    )

    [replied, silent] = await transport.settle(
        [job("+14155550123", sender="+12025550999"), job("+12025550100")]
    )

    assert replied.kind == "delivered"
    assert replied.replies == (
        Reply(sender="+14155550123", recipient="+12025550999", body="Thanks!"),
    )
    assert silent.replies == ()


async def test_a_failed_message_gets_no_auto_reply() -> None:
    transport = SandboxTransport(
        receipt_delay=0, rules=["+1415=failed:300"], auto_replies=["+1415=Thanks"]
    )

    [outcome] = await transport.settle([job("+14155550123")])

    assert outcome.kind == "failed"
    assert outcome.replies == ()


async def test_an_auto_reply_text_may_contain_an_equals_sign() -> None:
    transport = SandboxTransport(receipt_delay=0, auto_replies=["+1415=2+2=4"])

    [outcome] = await transport.settle([job("+14155550123")])

    assert outcome.replies[0].body == "2+2=4"


@pytest.mark.parametrize("line", ["+1555", "=failed", "+1555=explode", "+1555=", "  =expired"])
def test_a_malformed_rule_is_refused_with_the_valid_actions(line: str) -> None:
    with pytest.raises(ValueError, match=r"delivered\|expired\|failed"):
        parse_rules([line])


def test_rules_are_parsed_with_their_arguments() -> None:
    rules = parse_rules([" +1555 =failed: 302", "+1=delivered"])

    assert [(r.prefix, r.action, r.argument) for r in rules] == [
        ("+1555", "failed", "302"),
        ("+1", "delivered", ""),
    ]


def test_the_wired_transports_are_the_sandboxes_built_from_the_settings() -> None:
    settings = Settings(
        sandbox_receipt_delay=7, sandbox_rules=["+1555=expired"], sandbox_auto_replies=["+1=Hi"]
    )

    transports = registry.build(wiring.CHANNELS, wiring.TRANSPORTS, settings, open_store(settings))

    sandbox = transports["sms"]
    assert isinstance(sandbox, SandboxTransport)
    assert isinstance(transports["email"], EmailSandboxTransport)
    assert sandbox.receipt_delay == 7
    assert [r.action for r in sandbox.scripts.base.rules] == ["expired"]
    assert sandbox.scripts.base.replies == (("+1", "Hi"),)


def test_a_bad_rule_in_the_settings_stops_the_worker_from_starting() -> None:
    with pytest.raises(ValueError, match="bad sandbox rule"):
        settings = Settings(sandbox_rules=["+1555:failed"])
        registry.build(wiring.CHANNELS, wiring.TRANSPORTS, settings, open_store(settings))


@pytest.mark.parametrize(
    "line", ["+1555=failed:abc", "+1555=reject:3o2", "+1555=defer:two", "+1555=delay:soon"]
)
def test_a_rule_with_a_non_numeric_argument_is_refused_at_startup(line: str) -> None:
    # Otherwise it would only blow up inside send(), deferring every matching message.
    with pytest.raises(ValueError, match="bad sandbox rule"):
        parse_rules([line])
