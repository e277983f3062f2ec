"""Automation rules: validate, store, read, change — the CRUD behind `/v3/automations/...`.

Rules belong to the account (every user sees the same rules) and decide where the
account's inbound messages and receipts go, so reading or changing them needs the
`access_settings` permission: without it a subaccount could point a URL rule at its own
server and read every reply the account receives.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from dovecote.accounts.service import require
from dovecote.automations import kinds as k
from dovecote.automations import rules_store as store
from dovecote.automations.kinds import Kind
from dovecote.core.errors import InvalidInput, NotFound
from dovecote.core.models import Principal
from dovecote.core.phone import InvalidRecipient, parse_recipient
from dovecote.pipeline.webhooks import check_url
from dovecote.storage.listing import ListQuery, Page

PERMISSION = "access_settings"
ALL_NUMBERS = "*"
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
MAX_NAME = 255
MAX_ADDRESS = 2000


@dataclass(frozen=True, slots=True)
class Rule:
    id: int
    kind: str
    rule_name: str
    action: str
    action_address: str
    body: str | None
    webhook_type: str | None
    enabled: bool
    match_type: int | None
    message_search_type: int | None
    message_search_term: str | None
    dedicated_number: str | None
    paused_reason: str | None
    user_id: int


def rule_from_row(row: Mapping[Any, Any]) -> Rule:
    return Rule(
        id=int(row["id"]),
        kind=row["kind"],
        rule_name=row["rule_name"],
        action=row["action"],
        action_address=row["action_address"],
        body=row["body"],
        webhook_type=row["webhook_type"],
        enabled=bool(row["enabled"]),
        match_type=row["match_type"],
        message_search_type=row["message_search_type"],
        message_search_term=row["message_search_term"],
        dedicated_number=row["dedicated_number"],
        paused_reason=row["paused_reason"],
        user_id=int(row["user_id"]),
    )


@dataclass(frozen=True, slots=True)
class RuleFields:
    """The wire fields as sent; None: not sent (on update: leave as is)."""

    rule_name: str | None = None
    action: str | None = None
    action_address: str | None = None
    body: str | None = None
    webhook_type: str | None = None
    enabled: int | None = None
    match_type: int | None = None
    message_search_type: int | None = None
    message_search_term: str | None = None
    dedicated_number: str | None = None


def _required(kind: Kind) -> tuple[str, ...]:
    names: tuple[str, ...] = ("rule_name", "action", "enabled")
    if kind.inbound:
        names += ("dedicated_number",)
        if kind.searchable:
            names += ("message_search_type",)
    else:
        names += ("match_type",)
    return names


def _check_action(kind: Kind, action: str) -> str:
    action = action.strip().upper()
    if action in k.NOT_YET:
        raise InvalidInput(f"action {action} is not available yet.", field="action")
    if action in k.UNSUPPORTED:
        raise InvalidInput(f"action {action} is not supported by Dovecote.", field="action")
    if action not in kind.actions:
        allowed = ", ".join(sorted(kind.actions))
        raise InvalidInput(
            f"action {action or '(empty)'} is not valid for this rule; use one of {allowed}.",
            field="action",
        )
    return action


def _check_address(action: str, address: str, body: str | None, country: str) -> str:
    address = address.strip()
    if len(address) > MAX_ADDRESS:
        raise InvalidInput(
            f"action_address must be at most {MAX_ADDRESS} characters.", field="action_address"
        )
    if action == k.URL:
        check_url(address, "action_address")
    elif action == k.EMAIL_FIXED:
        if not _EMAIL.fullmatch(address):
            raise InvalidInput(
                "action_address must be an email address for EMAIL_FIXED.", field="action_address"
            )
    elif action == k.SMS:
        try:
            address = parse_recipient(address, country).e164
        except InvalidRecipient:
            raise InvalidInput(
                "action_address must be a phone number for SMS.", field="action_address"
            ) from None
    elif action in k.CONTACT_ACTIONS - {"CONTACT_OPT_OUT"} and not (
        address.isdigit() and int(address) > 0
    ):
        raise InvalidInput(
            f"action_address must be a list id for {action}.", field="action_address"
        )
    elif action == k.AUTO_REPLY and not (body or address):
        raise InvalidInput(
            "AUTO_REPLY needs the reply text in body or action_address.", field="action_address"
        )
    return address


def _check_int(value: int, name: str, allowed: range) -> int:
    if value not in allowed:
        raise InvalidInput(f"{name} must be one of {', '.join(map(str, allowed))}.", field=name)
    return value


def _values(kind: Kind, fields: RuleFields, current: Rule | None, country: str) -> dict[str, Any]:
    """The columns to write: `fields` over `current` (None on create), all checked."""
    if current is None:
        for name in _required(kind):
            value = getattr(fields, name)
            if value is None or (
                isinstance(value, str) and not value.strip() and name != "dedicated_number"
            ):
                raise InvalidInput(f"{name} is required.", field=name)

    def pick(name: str) -> Any:
        value = getattr(fields, name)
        return value if value is not None else (getattr(current, name) if current else None)

    name = str(pick("rule_name") or "").strip()
    if not name or len(name) > MAX_NAME:
        raise InvalidInput(f"rule_name must be 1 to {MAX_NAME} characters.", field="rule_name")
    action = _check_action(kind, str(pick("action") or ""))
    body = pick("body")
    address = _check_address(action, str(pick("action_address") or ""), body, country)
    enabled = _check_int(int(pick("enabled")), "enabled", range(2))
    values: dict[str, Any] = {
        "rule_name": name,
        "action": action,
        "action_address": address,
        "body": body,
        "enabled": bool(enabled),
    }
    webhook_type = pick("webhook_type")
    if webhook_type is not None:
        webhook_type = str(webhook_type).strip().lower()
        if webhook_type not in (k.WEBHOOK_FORM, k.WEBHOOK_JSON):
            raise InvalidInput(
                "webhook_type must be post (a form POST) or json.", field="webhook_type"
            )
    values["webhook_type"] = webhook_type or (k.WEBHOOK_FORM if action == k.URL else None)
    if kind.inbound:
        number = str(pick("dedicated_number") or "").strip()
        values["dedicated_number"] = number or ALL_NUMBERS
        if kind.searchable:
            search = _check_int(int(pick("message_search_type")), "message_search_type", range(4))
            term = str(pick("message_search_term") or "").strip()
            if search != k.ANY_MESSAGE and not term:
                raise InvalidInput(
                    "message_search_term is required unless message_search_type is 0.",
                    field="message_search_term",
                )
            if len(term) > MAX_NAME:
                raise InvalidInput(
                    f"message_search_term must be at most {MAX_NAME} characters.",
                    field="message_search_term",
                )
            values["message_search_type"] = search
            values["message_search_term"] = term
    else:
        values["match_type"] = _check_int(int(pick("match_type")), "match_type", range(4))
    if values["enabled"]:
        # Enabling a paused rule is how its owner resumes it.
        values["paused_reason"] = None
        values["failures"] = 0
    return values


async def list_rules(
    conn: AsyncConnection, principal: Principal, kind: Kind, params: ListQuery
) -> Page:
    require(principal, PERMISSION)
    return await store.list_rules(conn, principal.account.id, kind.name, params)


async def get_rule(conn: AsyncConnection, principal: Principal, kind: Kind, rule_id: int) -> Rule:
    require(principal, PERMISSION)
    row = await store.get_rule(conn, principal.account.id, kind.name, rule_id)
    if row is None:
        raise NotFound(f"Rule #{rule_id} not found.")
    return rule_from_row(row)


async def create_rule(
    conn: AsyncConnection, principal: Principal, kind: Kind, fields: RuleFields
) -> Rule:
    require(principal, PERMISSION)
    values = _values(kind, fields, None, principal.account.country)
    now = int(time.time())
    row = await store.insert_rule(
        conn,
        {
            **values,
            "account_id": principal.account.id,
            "user_id": principal.user.id,
            "kind": kind.name,
            "created_at": now,
            "updated_at": now,
        },
    )
    return rule_from_row(row)


async def update_rule(
    conn: AsyncConnection, principal: Principal, kind: Kind, rule_id: int, fields: RuleFields
) -> Rule:
    current = await get_rule(conn, principal, kind, rule_id)
    values = _values(kind, fields, current, principal.account.country)
    if fields.enabled is None and not current.enabled:
        # An update that does not name `enabled` leaves a paused rule paused.
        values.pop("paused_reason", None)
        values.pop("failures", None)
    values["updated_at"] = int(time.time())
    row = await store.update_rule(conn, principal.account.id, kind.name, rule_id, values)
    if row is None:
        raise NotFound(f"Rule #{rule_id} not found.")
    return rule_from_row(row)


async def delete_rule(
    conn: AsyncConnection, principal: Principal, kind: Kind, rule_id: int
) -> None:
    require(principal, PERMISSION)
    if not await store.delete_rule(conn, principal.account.id, kind.name, rule_id):
        raise NotFound(f"Rule #{rule_id} not found.")
