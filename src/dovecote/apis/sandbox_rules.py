"""`/dovecote/sandbox/rules` (Dovecote-only): the account's scripted sandbox outcomes,
editable at runtime (`pipeline/sandbox_scripts.py`, docs/sandbox.md). A rule is
`{"type": "rule", "prefix": "+1555", "outcome": "failed:302"}`, an auto-reply
`{"type": "auto_reply", "prefix": "+61412", "text": "Thanks"}`. They need
`access_settings`, and an account sees and changes only its own.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from dovecote.apis.clicksend.envelope import envelope
from dovecote.apis.deps import Conn, CurrentPrincipal
from dovecote.pipeline import sandbox_scripts as scripts
from dovecote.pipeline.sandbox_scripts import SandboxScript
from dovecote.pipeline.transports.scripts import REPLY, RULE

router = APIRouter(prefix="/dovecote/sandbox/rules", tags=["Sandbox (Dovecote)"])

ScriptId = Annotated[int, Path(ge=1, le=2**31 - 1)]
TYPES = {"rule": RULE, "auto_reply": REPLY}


class ScriptIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["rule", "auto_reply"] = "rule"
    prefix: str | None = Field(default=None, max_length=1000)
    outcome: str | None = Field(default=None, max_length=1000, description="A rule's outcome.")
    text: str | None = Field(default=None, max_length=10_000, description="An auto-reply's text.")

    def value(self) -> str | None:
        return self.text if self.type == "auto_reply" else self.outcome


def payload(script: SandboxScript) -> dict[str, Any]:
    kind = "rule" if script.kind == RULE else "auto_reply"
    value = "outcome" if script.kind == RULE else "text"
    return {
        "id": script.id,
        "type": kind,
        "prefix": script.prefix,
        value: script.outcome,
        "line": script.line,
        "date_added": script.created_at,
    }


@router.get("", summary="The account's sandbox rules and auto-replies")
async def list_rules(principal: CurrentPrincipal, conn: Conn) -> JSONResponse:
    found = await scripts.list_scripts(conn, principal)
    return envelope({"data": [payload(script) for script in found]})


@router.post("", summary="Add a sandbox rule or auto-reply")
async def add_rule(body: ScriptIn, principal: CurrentPrincipal, conn: Conn) -> JSONResponse:
    added = await scripts.add_script(conn, principal, TYPES[body.type], body.prefix, body.value())
    return envelope(payload(added), "Sandbox rule added.")


@router.get("/{script_id}", summary="A sandbox rule or auto-reply")
async def get_rule(script_id: ScriptId, principal: CurrentPrincipal, conn: Conn) -> JSONResponse:
    return envelope(payload(await scripts.get_script(conn, principal, script_id)))


@router.put("/{script_id}", summary="Change a sandbox rule's prefix and outcome (or text)")
async def update_rule(
    script_id: ScriptId, body: ScriptIn, principal: CurrentPrincipal, conn: Conn
) -> JSONResponse:
    changed = await scripts.update_script(conn, principal, script_id, body.prefix, body.value())
    return envelope(payload(changed), "Sandbox rule updated.")


@router.delete("/{script_id}", summary="Remove a sandbox rule or auto-reply")
async def delete_rule(script_id: ScriptId, principal: CurrentPrincipal, conn: Conn) -> JSONResponse:
    await scripts.delete_script(conn, principal, script_id)
    return envelope({"id": script_id}, "Sandbox rule deleted.")
