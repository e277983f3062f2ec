"""Settings › Webhooks: the account's automation rules of every kind with their state
(a switch per rule: `automations.rules.update_rule` with `enabled`, as
`PUT /v3/automations/...` does, so enabling a paused rule resumes it), and the webhook
delivery log of `GET /dovecote/webhooks/deliveries` with a replay for a dead delivery
(`automations.deliveries.replay`). Everything needs `access_settings`, as the API's
rules and deliveries do: the rules decide where the account's replies go.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response

from dovecote.automations import deliveries, kinds, rules
from dovecote.core.errors import DomainError, NotFound
from dovecote.dashboard import guard, web
from dovecote.dashboard import settings_forms as forms
from dovecote.storage.listing import ListQuery

router = APIRouter(include_in_schema=False, route_class=guard.PageRoute)

FLAG = rules.PERMISSION
Allowed = Annotated[web.Viewer, Depends(guard.viewer_with(FLAG))]
TITLE = "Webhooks and automations"
DELIVERIES_SHOWN = 50
RuleId = Annotated[int, Path(ge=1, le=2**31 - 1)]
DeliveryId = Annotated[int, Path(ge=1, le=2**62)]
KIND_LABELS = {
    kinds.SMS_INBOUND.name: "Inbound SMS",
    kinds.SMS_RECEIPT.name: "SMS receipts",
    kinds.EMAIL_RECEIPT.name: "Email receipts",
    kinds.VOICE_RECEIPT.name: "Voice receipts",
    kinds.FAX_INBOUND.name: "Inbound fax",
    kinds.FAX_RECEIPT.name: "Fax receipts",
}


async def _page(
    request: Request, who: web.Viewer, *, error: DomainError | None = None, notice: str = ""
) -> Response:
    async with web.runtime_of(request).engine.connect() as conn:
        by_kind = []
        for kind in kinds.KINDS.values():
            page = await rules.list_rules(conn, who.principal, kind, ListQuery(limit=forms.SHOWN))
            by_kind.append(
                (kind, KIND_LABELS[kind.name], [rules.rule_from_row(r) for r in page.rows])
            )
        log = await deliveries.list_deliveries(
            conn, who.principal, ListQuery(limit=DELIVERIES_SHOWN)
        )
    context = {"by_kind": by_kind, "deliveries": log.rows, "total": log.total}
    return forms.section(
        request, who, "_webhooks.html", context, title=TITLE, error=error, notice=notice
    )


@router.get("/settings/webhooks")
async def webhooks_page(request: Request, who: Allowed) -> Response:
    return await _page(request, who)


@router.post("/settings/webhooks/rules/{kind}/{rule_id}")
async def toggle(request: Request, kind: str, rule_id: RuleId) -> Response:
    guarded = await forms.posted(request, FLAG)
    if not isinstance(guarded, tuple):
        return guarded
    who, fields = guarded
    enabled = 1 if fields.get("enabled") == "1" else 0
    try:
        found = kinds.KINDS.get(kind)
        if found is None:
            raise NotFound(f"Rule #{rule_id} not found.")
        async with web.runtime_of(request).engine.begin() as conn:
            rule = await rules.update_rule(
                conn, who.principal, found, rule_id, rules.RuleFields(enabled=enabled)
            )
    except DomainError as exc:
        return await _page(request, who, error=exc)
    state = "enabled" if rule.enabled else "disabled"
    return await _page(request, who, notice=f"Rule {rule.rule_name} {state}.")


@router.post("/settings/webhooks/deliveries/{delivery_id}/replay")
async def replay(request: Request, delivery_id: DeliveryId) -> Response:
    guarded = await forms.posted(request, FLAG)
    if not isinstance(guarded, tuple):
        return guarded
    who, _ = guarded
    try:
        async with web.runtime_of(request).engine.begin() as conn:
            await deliveries.replay(conn, who.principal, delivery_id)
    except DomainError as exc:
        return await _page(request, who, error=exc)
    return await _page(request, who, notice=f"Delivery #{delivery_id} queued again.")
