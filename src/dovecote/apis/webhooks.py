"""`/dovecote/webhooks/...` (Dovecote's own, outside `/v3`): the signing secret, the
delivery log, replays. Answers use ClickSend's envelope, like the rules that cause them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse

from dovecote.apis.clicksend.envelope import envelope
from dovecote.apis.clicksend.listing import ListParams, render_page
from dovecote.apis.deps import Conn, CurrentPrincipal, RuntimeDep
from dovecote.automations import deliveries
from dovecote.automations.secrets import Secret
from dovecote.core.sealing import Sealer
from dovecote.runtime import Runtime

router = APIRouter(prefix="/dovecote/webhooks", tags=["Webhooks (Dovecote)"])

DeliveryId = Annotated[int, Path(ge=1, le=2**62)]


def _secret(secret: Secret) -> dict[str, Any]:
    return {
        "secret": secret.secret,
        # Still signing beside the new one until `previous_expires_at` (after a rotation).
        "previous_secret": secret.previous_secret,
        "previous_expires_at": None
        if secret.previous_until is None
        else int(secret.previous_until),
    }


def _delivery(row: Mapping[Any, Any]) -> dict[str, Any]:
    return {
        "delivery_id": int(row["id"]),
        "webhook_id": row["webhook_id"],
        "rule_id": int(row["rule_id"]),
        "event_type": row["event_type"],
        "message_id": row["message_id"],
        "url": row["url"],
        "status": row["status"],
        "attempts": int(row["attempts"]),
        "last_response_code": row["last_status"],
        "last_error": row["last_error"],
        "latency_ms": row["latency_ms"],
        "next_attempt_at": None if row["due_at"] is None else int(row["due_at"]),
        "created_at": int(row["created_at"]),
        "finished_at": None if row["finished_at"] is None else int(row["finished_at"]),
    }


def _sealer(runtime: Runtime) -> Sealer:
    return Sealer.from_keys(runtime.settings.secret_key, runtime.settings.secret_key_previous)


@router.get("/secret", summary="Show the account's webhook signing secret")
async def show_secret(principal: CurrentPrincipal, conn: Conn, runtime: RuntimeDep) -> JSONResponse:
    secret = await deliveries.show_secret(conn, principal, _sealer(runtime))
    return envelope(_secret(secret), "Your webhook secret.")


@router.post("/secret", summary="Rotate the webhook signing secret (24 h overlap)")
async def rotate_secret(
    principal: CurrentPrincipal, conn: Conn, runtime: RuntimeDep
) -> JSONResponse:
    secret = await deliveries.rotate_secret(conn, principal, _sealer(runtime))
    return envelope(_secret(secret), "Your webhook secret has been rotated.")


@router.get("/deliveries", summary="List webhook deliveries, newest first")
async def list_deliveries(
    request: Request,
    params: ListParams,
    principal: CurrentPrincipal,
    conn: Conn,
    rule_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    status: Annotated[str | None, Query(max_length=16)] = None,
) -> JSONResponse:
    page = await deliveries.list_deliveries(conn, principal, params, rule_id=rule_id, status=status)
    return envelope(render_page(page, request, _delivery), "Here are your webhook deliveries.")


@router.post("/deliveries/{delivery_id}/replay", summary="Send one delivery again")
async def replay(delivery_id: DeliveryId, principal: CurrentPrincipal, conn: Conn) -> JSONResponse:
    await deliveries.replay(conn, principal, delivery_id)
    return envelope({"replayed": 1}, "The delivery has been queued again.")


@router.post("/replay-dead", summary="Send every dead-lettered delivery again")
async def replay_dead(principal: CurrentPrincipal, conn: Conn) -> JSONResponse:
    count = await deliveries.replay_dead(conn, principal)
    return envelope({"replayed": count}, f"{count} dead deliveries have been queued again.")
