"""The voice sandbox transport on its own: WAVs in the file store, scripted outcomes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dovecote.channels.voice.sandbox import VoiceSandboxTransport, wav_key
from dovecote.files.store import LocalFileStore
from dovecote.pipeline.transports.base import Job

RULES = ["+1555000=reject", "+1555001=failed:302", "+1555002=keys:9", "+1555003=defer:1"]


def job(recipient: str, **payload: Any) -> Job:
    return Job(
        id=f"ID{recipient[1:]}",
        account_id=1,
        user_id=1,
        channel="voice",
        sender="",
        recipient=recipient,
        subject=None,
        body="Testing one two three.",
        attempts=0,
        custom_string=None,
        created_at=0,
        sent_at=None,
        transport_ref=None,
        payload={"espeak": "en-us", "seconds": 1.5, **payload},
    )


async def test_scripted_outcomes_and_only_sent_calls_are_rendered(tmp_path: Path) -> None:
    files = LocalFileStore(tmp_path)
    transport = VoiceSandboxTransport(files, receipt_delay=0, rules=RULES)
    jobs = [job("+15550001"), job("+15550011"), job("+15550021", require_input=True)]
    jobs.append(job("+15550031"))

    sent = await transport.send(jobs)
    settled = await transport.settle(jobs[1:3])

    assert [o.kind for o in sent] == ["failed", "sent", "sent", "deferred"]
    assert [await files.exists(wav_key(j.id)) for j in jobs] == [False, True, True, False]
    assert sent[1].detail["duration"] > 0.5
    assert (settled[0].kind, settled[0].error_code) == ("failed", 302)
    assert (settled[1].kind, settled[1].detail["digits"]) == ("delivered", "9")


async def test_a_keys_rule_means_nothing_for_calls_that_ask_no_input(tmp_path: Path) -> None:
    transport = VoiceSandboxTransport(LocalFileStore(tmp_path), receipt_delay=0, rules=RULES)

    (outcome,) = await transport.settle([job("+15550021")])

    assert outcome.kind == "delivered" and outcome.detail["digits"] is None


async def test_an_unknown_voice_fails_the_call_instead_of_crashing_the_worker(
    tmp_path: Path,
) -> None:
    transport = VoiceSandboxTransport(LocalFileStore(tmp_path), receipt_delay=0)

    (outcome,) = await transport.send([job("+15559999", espeak="xx-nothing")])

    assert outcome.kind == "failed" and "Speech failed" in (outcome.error_text or "")
