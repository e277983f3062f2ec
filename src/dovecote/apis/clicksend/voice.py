"""`/v3/voice/send`, `/v3/voice/price`, `/v3/voice/lang`, cancel and cancel-all."""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Path
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from dovecote.accounts import service as accounts
from dovecote.apis.clicksend.envelope import envelope
from dovecote.apis.deps import Conn, CurrentPrincipal, RuntimeDep
from dovecote.channels.voice import compose, languages
from dovecote.core.errors import NotFound
from dovecote.core.models import Principal
from dovecote.core.money import from_micros
from dovecote.pipeline import outbound
from dovecote.pipeline.scope import scope_for

router = APIRouter(tags=["Voice"])

PERMISSION = "access_voice"
Flag = Annotated[int | None, Field(default=None, ge=0, le=1)]


class VoiceMessageIn(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    to: str | None = Field(default=None, max_length=64)
    body: str | None = Field(default=None, max_length=10_000)
    voice: str | None = Field(default=None, max_length=16)
    lang: str | None = Field(default=None, max_length=16)
    country: str | None = Field(default=None, max_length=2)
    schedule: int | float | str | None = None
    custom_string: str | None = Field(default=None, max_length=4096)
    source: str | None = Field(default=None, max_length=100)
    list_id: int | str | None = None
    require_input: Flag = None
    machine_detection: Flag = None

    def to_domain(self) -> compose.VoiceRequest:
        return compose.VoiceRequest(
            to=self.to,
            body=self.body,
            voice=self.voice,
            lang=self.lang,
            country=self.country,
            schedule=self.schedule,
            custom_string=self.custom_string,
            source=self.source,
            list_id=self.list_id,
            require_input=bool(self.require_input),
            machine_detection=bool(self.machine_detection),
        )


class SendVoiceIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    messages: list[VoiceMessageIn]


def _message(
    item: outbound.Outbound, request: VoiceMessageIn, principal: Principal, now: int
) -> dict[str, Any]:
    """One call; types follow SDK 6's VoiceMessage (strict: `date` a string, flags numbers)."""
    payload = item.payload or {}
    return {
        "date": str(now),
        "date_added": now,
        "to": item.recipient,
        "body": item.body,
        "from": None,
        "lang": payload.get("lang", request.lang),
        "voice": payload.get("voice", request.voice),
        "schedule": item.schedule or 0,
        "message_id": item.id,
        "message_parts": item.parts,
        "message_price": f"{from_micros(item.price_micros):.4f}",
        "custom_string": item.custom_string,
        "list_id": str(item.list_id) if item.list_id is not None else None,
        "user_id": principal.user.id,
        "subaccount_id": principal.user.id,
        "country": item.country,
        "require_input": int(bool(request.require_input)),
        "machine_detection": int(bool(request.machine_detection)),
        "carrier": "",
        "status": item.status,
        # Dovecote: the length of the speech the price counts (started minutes = parts).
        "_seconds": payload.get("seconds"),
    }


async def _accept(
    body: SendVoiceIn, principal: Principal, conn: Conn, runtime: RuntimeDep, *, dry_run: bool
) -> tuple[outbound.Accepted, dict[str, Any]]:
    accounts.require(principal, PERMISSION)
    now = time.time()
    items = await compose.compose(
        [message.to_domain() for message in body.messages],
        principal.account,
        runtime.prices,
        now=now,
    )
    accepted = await outbound.accept(
        conn,
        principal,
        items,
        now=now,
        throttle_window=runtime.settings.sms_throttle_window,
        dry_run=dry_run,
        events=runtime.events,
    )
    messages = [
        _message(item, request, principal, int(now))
        for item, request in zip(accepted.items, body.messages, strict=True)
    ]
    queued = len(accepted.queued)
    data = {
        "total_price": float(from_micros(accepted.total_price_micros)),
        "total_count": len(accepted.items),
        "queued_count": queued,
        "blocked_count": len(accepted.items) - queued,
        "messages": messages,
        # The spec's example spells it `currency`; SDK 6 reads `_currency` (as for SMS).
        "currency": runtime.prices.currency_info(accepted.currency),
        "_currency": runtime.prices.currency_info(accepted.currency),
    }
    return accepted, data


@router.post("/voice/send", summary="Send a voice call (text to speech)")
async def send_voice(
    body: SendVoiceIn, principal: CurrentPrincipal, conn: Conn, runtime: RuntimeDep
) -> JSONResponse:
    accepted, data = await _accept(body, principal, conn, runtime, dry_run=False)
    runtime.metrics.accepted.labels("voice").inc(len(accepted.queued))
    return envelope(data, "Messages queued for delivery.")


@router.post("/voice/price", summary="Calculate the price of voice calls")
async def price_voice(
    body: SendVoiceIn, principal: CurrentPrincipal, conn: Conn, runtime: RuntimeDep
) -> JSONResponse:
    _, data = await _accept(body, principal, conn, runtime, dry_run=True)
    return envelope(data, "Here are your data.")


@router.get("/voice/lang", summary="Voice languages")
async def voice_languages(principal: CurrentPrincipal) -> JSONResponse:
    return envelope(
        [language.wire() for language in languages.languages().values()],
        "Here are the possible languages.",
    )


@router.put("/voice/{message_id}/cancel", summary="Cancel a scheduled voice call")
async def cancel_voice(
    message_id: Annotated[str, Path(max_length=64)],
    principal: CurrentPrincipal,
    conn: Conn,
    runtime: RuntimeDep,
) -> JSONResponse:
    accounts.require(principal, PERMISSION)
    cancelled = await outbound.cancel(
        conn,
        principal,
        compose.CHANNEL,
        [message_id.upper()],
        now=time.time(),
        user_id=scope_for(principal).user_id,
        events=runtime.events,
    )
    if not cancelled:
        raise NotFound(f"Message {message_id} is not a queued voice message of this account.")
    return envelope(None, f"Message {cancelled[0]} has been cancelled.")


@router.put("/voice/cancel-all", summary="Cancel all scheduled voice calls")
async def cancel_all_voice(
    principal: CurrentPrincipal, conn: Conn, runtime: RuntimeDep
) -> JSONResponse:
    accounts.require(principal, PERMISSION)
    cancelled = await outbound.cancel(
        conn,
        principal,
        compose.CHANNEL,
        None,
        now=time.time(),
        user_id=scope_for(principal).user_id,
        events=runtime.events,
    )
    return envelope({"count": len(cancelled)}, f"{len(cancelled)} messages have been cancelled.")
