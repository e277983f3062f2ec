"""`/v3/automations/...`: ClickSend's inbound and receipt rules, every kind alike.

Each kind gets list/create/view/update/delete at the paths the spec and the SDKs use.
Email receipt rules live at two paths: the spec's `/automations/email/receipt` and the
SDKs' `/automations/email/receipts`; both reach the same rules.
"""

# No `from __future__ import annotations`: the handlers are built per kind, and the alias
# of their path parameter (`param`) is a local that FastAPI only sees in evaluated
# annotations.
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from dovecote.apis.clicksend.envelope import envelope
from dovecote.apis.clicksend.listing import ListParams, render_page
from dovecote.apis.deps import Conn, CurrentPrincipal
from dovecote.automations import kinds, rules
from dovecote.automations.kinds import Kind
from dovecote.automations.rules import Rule, RuleFields

router = APIRouter(tags=["Automations"])

MAX_ID = 2**31 - 1

# (kind, collection path, the rule id's path parameter)
ROUTES: tuple[tuple[Kind, str, str], ...] = (
    (kinds.SMS_INBOUND, "/automations/sms/inbound", "inbound_rule_id"),
    (kinds.SMS_RECEIPT, "/automations/sms/receipts", "receipt_rule_id"),
    (kinds.EMAIL_RECEIPT, "/automations/email/receipt", "rule_id"),
    (kinds.EMAIL_RECEIPT, "/automations/email/receipts", "receipt_rule_id"),
    (kinds.VOICE_RECEIPT, "/automations/voice/receipts", "receipt_rule_id"),
    (kinds.FAX_INBOUND, "/automations/fax/inbound", "inbound_rule_id"),
    (kinds.FAX_RECEIPT, "/automations/fax/receipts", "rule_id"),
)


# What a delete answers as `data`: the spec (and SDK 6's models) differ per kind.
DELETED: dict[str, Any] = {kinds.EMAIL_RECEIPT.name: True, kinds.FAX_RECEIPT.name: None}


class RuleIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    # Optional here so that a missing field gets the domain's message naming it.
    rule_name: str | None = Field(default=None, max_length=1000)
    action: str | None = Field(default=None, max_length=64)
    action_address: str | None = Field(default=None, max_length=4000)
    body: str | None = Field(default=None, max_length=2000)
    webhook_type: str | None = Field(default=None, max_length=16)
    enabled: int | None = Field(default=None, ge=0, le=1)
    match_type: int | None = Field(default=None, ge=0, le=3)
    message_search_type: int | None = Field(default=None, ge=0, le=3)
    message_search_term: str | None = Field(default=None, max_length=1000)
    # The spec types it a number in one place and a string in another; both SDKs send a string.
    dedicated_number: str | int | None = None

    def fields(self) -> RuleFields:
        number = self.dedicated_number
        return RuleFields(
            rule_name=self.rule_name,
            action=self.action,
            action_address=self.action_address,
            body=self.body,
            webhook_type=self.webhook_type,
            enabled=self.enabled,
            match_type=self.match_type,
            message_search_type=self.message_search_type,
            message_search_term=self.message_search_term,
            dedicated_number=None if number is None else str(number),
        )


def render(rule: Rule) -> dict[str, Any]:
    kind = kinds.KINDS[rule.kind]
    data: dict[str, Any] = {kind.id_field: rule.id, "rule_name": rule.rule_name}
    if kind.inbound:
        data["dedicated_number"] = rule.dedicated_number
        if kind.searchable:
            data["message_search_type"] = rule.message_search_type
            data["message_search_term"] = rule.message_search_term
            data["body"] = rule.body
            data["webhook_type"] = rule.webhook_type
        else:
            data["user_id"] = rule.user_id
    else:
        data["match_type"] = rule.match_type
    data.update(
        action=rule.action,
        action_address=rule.action_address,
        enabled=int(rule.enabled),
        # Dovecote's own: why a URL rule was paused (its endpoint kept failing), or null.
        paused_reason=rule.paused_reason,
    )
    return data


def _mount(kind: Kind, path: str, param: str) -> None:
    item = f"{path}/{{{param}}}"

    async def list_rules(
        request: Request, params: ListParams, principal: CurrentPrincipal, conn: Conn
    ) -> JSONResponse:
        page = await rules.list_rules(conn, principal, kind, params)
        data = render_page(page, request, lambda row: render(rules.rule_from_row(row)))
        return envelope(data, "Your list of rules.")

    async def create_rule(
        principal: CurrentPrincipal, conn: Conn, body: RuleIn | None = None
    ) -> JSONResponse:
        rule = await rules.create_rule(conn, principal, kind, (body or RuleIn()).fields())
        return envelope(render(rule), "New rule has been added.")

    async def get_rule(
        rule_id: Annotated[int, Path(alias=param, ge=1, le=MAX_ID)],
        principal: CurrentPrincipal,
        conn: Conn,
    ) -> JSONResponse:
        rule = await rules.get_rule(conn, principal, kind, rule_id)
        return envelope(render(rule), "Your rule.")

    async def update_rule(
        rule_id: Annotated[int, Path(alias=param, ge=1, le=MAX_ID)],
        principal: CurrentPrincipal,
        conn: Conn,
        body: RuleIn | None = None,
    ) -> JSONResponse:
        rule = await rules.update_rule(conn, principal, kind, rule_id, (body or RuleIn()).fields())
        return envelope(render(rule), "Your rule has been updated.")

    async def delete_rule(
        rule_id: Annotated[int, Path(alias=param, ge=1, le=MAX_ID)],
        principal: CurrentPrincipal,
        conn: Conn,
    ) -> JSONResponse:
        await rules.delete_rule(conn, principal, kind, rule_id)
        return envelope(DELETED.get(kind.name, []), "Your record has been deleted.")

    label = kind.name.replace("_", " ")
    router.add_api_route(path, list_rules, methods=["GET"], summary=f"List {label} rules")
    router.add_api_route(path, create_rule, methods=["POST"], summary=f"Create a {label} rule")
    router.add_api_route(item, get_rule, methods=["GET"], summary=f"Get a {label} rule")
    router.add_api_route(item, update_rule, methods=["PUT"], summary=f"Update a {label} rule")
    router.add_api_route(item, delete_rule, methods=["DELETE"], summary=f"Delete a {label} rule")


for _kind, _path, _param in ROUTES:
    _mount(_kind, _path, _param)
