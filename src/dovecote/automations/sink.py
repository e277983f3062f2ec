"""The event sink that fires automation rules: inbound messages and delivery receipts.

It runs in the transaction of every event written (`EventLog.record`), whichever way
the event came (a transport's outcome, an SMPP or provider receipt, the sandbox), and
only queues work there: a webhook delivery row per URL rule, an action row per email or
SMS rule. No network I/O happens in the event's transaction; the worker does it after.

Receipts are recognised from the channel specs, not by name: a channel's final outcomes
(delivered, failed, expired) map to event types, so a channel added later (voice, fax)
fires its receipt rules with no change here.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from dovecote.automations import kinds as k
from dovecote.automations import rules_store
from dovecote.automations.matching import inbound_matches, receipt_matches
from dovecote.automations.rules import Rule, rule_from_row
from dovecote.pipeline import status as st
from dovecote.pipeline import webhook_queue
from dovecote.pipeline.channel import Channel
from dovecote.pipeline.events import Event, EventSink
from dovecote.storage.tables import SYSTEM_SOURCE, automation_actions, messages

# Messages Dovecote sent itself: an automation's SMS or email, platform mail. Their
# receipts never fire rules, or a rule answering receipts by SMS would feed itself.
QUIET_SOURCES = frozenset({"automation", SYSTEM_SOURCE})

INBOUND_EVENT = "inbound"
FORM = "application/x-www-form-urlencoded"
JSON = "application/json"


@dataclass(frozen=True, slots=True)
class _Receipts:
    """A channel's final event types, and which of them means delivered."""

    types: frozenset[str]
    delivered: str


def _receipt_types(channels: Sequence[Channel]) -> dict[str, _Receipts]:
    return {
        channel.name: _Receipts(
            frozenset(channel.events[kind] for kind in ("delivered", "failed", "expired")),
            channel.events["delivered"],
        )
        for channel in channels
    }


def _success(event: Event, receipts: _Receipts) -> bool:
    code = event.data.get("status_code")
    if event.type != receipts.delivered:
        return False
    # SMS writes every final outcome as `receipt`: its code tells them apart.
    return code is None or int(code) < 300


def receipt_payload(event: Event, success: bool) -> dict[str, Any]:
    """ClickSend's delivery-receipt document for any channel's final event."""
    data = event.data
    code = data.get("status_code", 201 if success else 300)
    return {
        "timestamp_send": data.get("timestamp_send", int(event.occurred_at)),
        "timestamp": data.get("timestamp", int(event.occurred_at)),
        "message_id": event.message_id,
        "status": "Delivered" if success else "Failed",
        "status_code": code,
        "status_text": data.get("status_text", st.RECEIPT_CODES.get(int(code), "")),
        "error_code": data.get("error_code"),
        "error_text": data.get("error_text", data.get("reason")),
        "custom_string": data.get("custom_string"),
        "user_id": event.user_id,
        "subaccount_id": event.user_id,
        "message_type": event.channel,
    }


def inbound_payload(event: Event) -> dict[str, Any]:
    """ClickSend's inbound document (the event's data) with the receiving user."""
    return {**event.data, "user_id": event.user_id, "subaccount_id": event.user_id}


def encode(payload: Mapping[str, Any], webhook_type: str | None) -> tuple[str, str]:
    """The body and content type ClickSend would send: a form POST unless `json`."""
    if webhook_type == k.WEBHOOK_JSON:
        return json.dumps(payload, separators=(",", ":")), JSON
    fields = {key: "" if value is None else str(value) for key, value in payload.items()}
    return urlencode(fields), FORM


def _fire(
    rule: Rule, event: Event, payload: dict[str, Any], now: float
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """The delivery row or action row a matched rule queues (or neither, for NOTHING)."""
    if rule.action == k.URL:
        body, content_type = encode(payload, rule.webhook_type)
        return (
            webhook_queue.row(
                account_id=event.account_id,
                rule_id=rule.id,
                event_type=INBOUND_EVENT if event.type == INBOUND_EVENT else "receipt",
                message_id=event.message_id,
                url=rule.action_address,
                content_type=content_type,
                body=body,
                now=now,
            ),
            None,
        )
    if rule.action in (k.NOTHING, k.NONE):
        return None, None
    return None, {
        "account_id": event.account_id,
        "user_id": event.user_id,
        "rule_id": rule.id,
        "action": rule.action,
        "payload": {
            "kind": rule.kind,
            "action_address": rule.action_address,
            "body": rule.body,
            # A keyword rule ("JOIN Ann Lee"): contact actions read what follows it.
            "keyword": rule.message_search_term
            if rule.message_search_type == k.STARTS_WITH
            else None,
            "event": payload,
        },
        "status": "pending",
        "due_at": now,
        "attempts": 0,
        "created_at": now,
    }


async def _quiet(conn: AsyncConnection, message_ids: Sequence[str]) -> set[str]:
    if not message_ids:
        return set()
    query = sa.select(messages.c.id).where(
        messages.c.id.in_(sorted(set(message_ids))), messages.c.source.in_(QUIET_SOURCES)
    )
    return {str(r) for r in (await conn.execute(query)).scalars()}


def automation_sink(channels: Sequence[Channel]) -> EventSink:
    receipts = _receipt_types(channels)

    async def sink(conn: AsyncConnection, events: Sequence[Event]) -> None:
        wanted: list[tuple[Event, str, bool]] = []  # (event, rule kind, success)
        for event in events:
            if event.type == INBOUND_EVENT:
                kind = k.inbound_kind(event.channel)
                if kind is not None:
                    wanted.append((event, kind.name, False))
                continue
            channel = receipts.get(event.channel)
            if channel is None or event.type not in channel.types:
                continue  # most events (a send's 1,000 `queued`): no kind to look up
            kind = k.receipt_kind(event.channel)
            if kind is not None:
                wanted.append((event, kind.name, _success(event, channel)))
        if not wanted:
            return
        accounts = sorted({event.account_id for event, _, _ in wanted})
        found = await rules_store.enabled_rules(conn, accounts, sorted({n for _, n, _ in wanted}))
        if not found:
            return
        by_owner: dict[tuple[int, str], list[Rule]] = {}
        for row in found:
            by_owner.setdefault((int(row["account_id"]), row["kind"]), []).append(
                rule_from_row(row)
            )
        quiet = await _quiet(conn, [e.message_id for e, _, _ in wanted if e.type != INBOUND_EVENT])
        now = time.time()
        deliveries: list[dict[str, Any]] = []
        actions: list[dict[str, Any]] = []
        for event, kind_name, success in wanted:
            if event.message_id in quiet:
                continue
            for rule in by_owner.get((event.account_id, kind_name), ()):
                if event.type == INBOUND_EVENT:
                    data = event.data
                    if not inbound_matches(
                        rule, str(data.get("to", "")), str(data.get("body", ""))
                    ):
                        continue
                    payload = inbound_payload(event)
                else:
                    if not receipt_matches(rule, success):
                        continue
                    payload = receipt_payload(event, success)
                delivery, action = _fire(rule, event, payload, now)
                if delivery is not None:
                    deliveries.append(delivery)
                if action is not None:
                    actions.append(action)
        await webhook_queue.enqueue(conn, deliveries)
        if actions:
            await conn.execute(automation_actions.insert(), actions)

    return sink
