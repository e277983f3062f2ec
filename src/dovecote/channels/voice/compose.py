"""Voice composition: recipient, language and voice, schedule, and the price of each call.

A call is priced per started minute of speech. The length is not guessed from the
text: the message is synthesized with the same engine the sandbox calls with, so the
price preview, the charge and the sandbox's WAV all agree.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from dovecote.channels.voice import languages, speech
from dovecote.core.models import Account
from dovecote.core.money import to_micros
from dovecote.core.phone import InvalidRecipient, is_test_number, parse_recipient
from dovecote.pipeline.compose import check_count, parse_list_id, parse_schedule
from dovecote.pipeline.outbound import Outbound
from dovecote.pipeline.pricing import PriceBook

CHANNEL = "voice"
VOICES = ("female", "male")


@dataclass(frozen=True, slots=True)
class VoiceRequest:
    """One call as the client sent it (already type-checked by the API layer)."""

    to: str | None
    body: str | None
    voice: str | None = None
    lang: str | None = None
    country: str | None = None
    schedule: int | float | str | None = None
    custom_string: str | None = None
    source: str | None = None
    list_id: int | str | None = None
    require_input: bool = False
    machine_detection: bool = False


async def compose(
    requests: Sequence[VoiceRequest], account: Account, prices: PriceBook, *, now: float
) -> list[Outbound]:
    check_count(requests)
    items = [_validate(request, account, now) for request in requests]
    await _measure(items)
    for item in items:
        if item.ok and not item.is_test:
            unit = prices.unit_price(CHANNEL, account.currency, item.country)
            item.price_micros = to_micros(unit * Decimal(item.parts))
    return items


def _validate(request: VoiceRequest, account: Account, now: float) -> Outbound:
    list_id = parse_list_id(request.list_id)
    item = Outbound(
        channel=CHANNEL,
        recipient=(request.to or "").strip(),
        body=request.body or "",
        custom_string=request.custom_string,
        source=request.source,
        list_id=None if list_id is False else list_id,
        encoding="",
    )
    if list_id is False or (list_id is not None and not request.to):
        item.status = "NOT_ENOUGH_PERMISSION_TO_LIST_ID"  # no contact lists yet (as SMS)
        return item
    try:
        recipient = parse_recipient(item.recipient, request.country or account.country)
    except InvalidRecipient:
        item.status = "INVALID_RECIPIENT"
        return item
    item.recipient, item.country = recipient.e164, recipient.country
    if not item.body.strip():
        item.status = "EMPTY_MESSAGE"
        return item
    language = languages.find(request.lang)
    if language is None:
        item.status = "INVALID_LANG"
        return item
    voice = (request.voice or "").strip().lower()
    if voice not in language.genders:
        item.status = "INVALID_VOICE"  # missing, not female/male, or not offered in lang
        return item
    schedule = parse_schedule(request.schedule, now)
    if schedule is False:
        item.status = "INVALID_SCHEDULE"
        return item
    item.schedule = schedule or None
    item.payload = {
        "lang": language.code,
        "voice": voice,
        "espeak": language.espeak_voice(voice),
        "require_input": request.require_input,
        "machine_detection": request.machine_detection,
    }
    # The spec's test numbers: success, nothing sent, nothing charged.
    item.is_test = is_test_number(item.recipient)
    return item


async def _measure(items: Sequence[Outbound]) -> None:
    """Synthesize each distinct (text, voice) once, off the event loop; `parts` is the
    number of started minutes a call lasts."""
    wanted = {
        (item.body, item.payload["espeak"])
        for item in items
        if item.ok and not item.is_test and item.payload is not None
    }
    seconds = await asyncio.to_thread(
        lambda: {key: speech.synthesize(*key).seconds for key in wanted}
    )
    for item in items:
        if item.payload is None or not item.ok:
            continue
        length = seconds.get((item.body, item.payload["espeak"]), 0.0)
        item.payload["seconds"] = round(length, 3)
        item.parts = max(1, math.ceil(length / 60))
