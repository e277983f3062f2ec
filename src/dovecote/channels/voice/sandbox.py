"""The voice sandbox: it speaks. Each call is rendered to a WAV (eSpeak NG), kept in the
file store as `voice/<message_id>.wav` and downloadable from `/sandbox/voice/…`.

Outcomes follow the sandbox rules as for SMS (`DOVECOTE_SANDBOX_RULES`, docs/sandbox.md);
`prefix=keys:42` scripts what a recipient presses when the call asks for input
(`require_input`), reported as the receipt's `digits`.
"""

from __future__ import annotations

import asyncio
import dataclasses

from dovecote.channels.voice import languages, speech
from dovecote.pipeline.transports.base import Job, Outcome
from dovecote.pipeline.transports.sandbox import RenderingSandboxTransport


def wav_key(message_id: str) -> str:
    return f"voice/{message_id}.wav"


class VoiceSandboxTransport(RenderingSandboxTransport):
    name = "voice-sandbox"

    async def render(self, job: Job, outcome: Outcome) -> Outcome:
        payload = job.payload or {}
        voice = payload.get("espeak") or languages.DEFAULT_ESPEAK
        try:
            spoken = await asyncio.to_thread(speech.synthesize, job.body, voice)
        except speech.SpeechError as exc:
            return Outcome("failed", error_code=300, error_text=f"Speech failed: {exc}")
        await self.files.put(wav_key(job.id), spoken.wav(), "audio/wav")
        detail = {**outcome.detail, "duration": round(spoken.seconds, 3)}
        return dataclasses.replace(outcome, detail=detail)

    def _settle_one(self, job: Job) -> Outcome:
        outcome = super()._settle_one(job)
        if outcome.kind != "delivered":
            return outcome
        payload = job.payload or {}
        rule = self._rule(job)
        keys = rule.argument if rule is not None and rule.action == "keys" else ""
        detail = {
            # A call that asked for input reports what was pressed (nothing unless a
            # `keys` rule says so); one that did not reports no digits at all.
            "digits": (keys or None) if payload.get("require_input") else None,
            "machine_detected": 0,
            "duration": payload.get("seconds"),
        }
        return dataclasses.replace(outcome, replies=(), detail=detail)
