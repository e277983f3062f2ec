"""Sandbox controls outside `/v3` (Dovecote-specific): simulate what carriers would do."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from dovecote.apis.clicksend.envelope import envelope
from dovecote.apis.clicksend.listing import ListParams, render_page
from dovecote.apis.deps import Conn, CurrentPrincipal, RuntimeDep
from dovecote.channels.email import captured
from dovecote.channels.sms import inbound
from dovecote.storage.tables import SYSTEM_SOURCE

router = APIRouter(prefix="/sandbox", tags=["Sandbox"])


class SimulatedInbound(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    sender: str = Field(alias="from", max_length=64, description="The replying phone number.")
    to: str = Field(max_length=64, description="Your number or sender id it was sent to.")
    body: str = Field(max_length=10_000)
    original_message_id: str | None = Field(
        default=None,
        max_length=64,
        description="The SMS this answers; by default the latest one sent to `from`.",
    )


@router.post("/sms/inbound", summary="Simulate an inbound SMS (a recipient's reply)")
async def simulate_inbound(
    body: SimulatedInbound, principal: CurrentPrincipal, conn: Conn, runtime: RuntimeDep
) -> JSONResponse:
    message = await inbound.simulate_inbound(
        conn,
        runtime.events,
        principal,
        sender=body.sender,
        recipient=body.to,
        body=body.body,
        original_message_id=body.original_message_id,
    )
    return envelope(inbound.payload(message), "Inbound SMS has been recorded.")


def _captured_email(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "message_id": row["id"],
        "user_id": row["user_id"],
        "subaccount_id": row["user_id"],
        "from": row["sender"],
        "to": row["recipient"],
        "subject": row["subject"],
        "status": row["status"],
        # Dovecote's own mail: sender verification, one-time codes, export links.
        "system": row["source"] == SYSTEM_SOURCE,
        "date_added": row["created_at"],
        "_eml_url": f"/sandbox/email/{row['id']}.eml",
    }


@router.get(
    "/email",
    summary="Every email the sandbox captured, newest first",
    description=(
        "System mail (verification tokens, one-time codes, export links) included. "
        "ClickSend's page/limit/q/order_by; `to` keeps one recipient. Subaccounts see "
        "their own unless they have access_reporting. 404 unless email goes to the "
        "sandbox transport."
    ),
)
async def list_captured_email(
    request: Request,
    params: ListParams,
    principal: CurrentPrincipal,
    conn: Conn,
    runtime: RuntimeDep,
    to: Annotated[str | None, Query(max_length=320, description="One recipient.")] = None,
) -> JSONResponse:
    page = await captured.list_captured(conn, principal, params, settings=runtime.settings, to=to)
    return envelope(render_page(page, request, _captured_email), "Here are your captured emails.")


@router.get(
    "/email/{message_id}.eml",
    summary="The exact MIME of an email the sandbox captured",
    description=(
        "Only while email goes to the sandbox transport, and only for mail that was never "
        "handed to a real one: otherwise 404."
    ),
    response_class=Response,
)
async def email_source(
    message_id: Annotated[str, Path(max_length=64)],
    principal: CurrentPrincipal,
    conn: Conn,
    runtime: RuntimeDep,
) -> Response:
    source = await captured.email_source(
        conn, principal, message_id.upper(), settings=runtime.settings
    )
    return Response(source, media_type="message/rfc822")
