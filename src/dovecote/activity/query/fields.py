"""The fields a query may name, what kind of value each holds, and the event vocabulary."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, Final

import sqlalchemy as sa

from dovecote.storage.tables import email_activity as ea


class Kind(enum.Enum):
    TEXT = "text"
    NUMBER = "number"
    TIME = "time"  # Unix seconds, compared at whole-second resolution
    EVENTS = "events"  # set-valued: the message's events inside the history window
    CATEGORIES = "categories"  # set-valued: email_activity_categories
    ARGS = "unique_args"  # key → value: email_activity_args


@dataclass(frozen=True, slots=True)
class Spec:
    kind: Kind
    column: sa.ColumnElement[Any] | None = None
    nullable: bool = False


def _text(column: sa.Column[Any]) -> Spec:
    return Spec(Kind.TEXT, column, column.nullable is True)


FIELDS: Final[dict[str, Spec]] = {
    "msg_id": _text(ea.c.message_id),
    "from_email": _text(ea.c.from_email),
    "subject": _text(ea.c.subject),
    "to_email": _text(ea.c.to_email),
    "status": _text(ea.c.status),
    "template_id": _text(ea.c.template_id),
    "api_key_id": _text(ea.c.api_key_id),
    "originating_ip": _text(ea.c.originating_ip),
    "outbound_ip": _text(ea.c.outbound_ip),
    "teammate": _text(ea.c.teammate),
    "last_event_time": Spec(Kind.TIME, ea.c.last_event_time),
    "clicks": Spec(Kind.NUMBER, ea.c.clicks_count),
    "opens": Spec(Kind.NUMBER, ea.c.opens_count),
    "unsubscribe_group_id": Spec(Kind.NUMBER, ea.c.asm_group_id, nullable=True),
    "events": Spec(Kind.EVENTS),
    "categories": Spec(Kind.CATEGORIES),
    "unique_args": Spec(Kind.ARGS),
}
# SendGrid's older query reference calls the unsubscribe group `asm_group_id`.
FIELDS["asm_group_id"] = FIELDS["unsubscribe_group_id"]

# Stored event type (SendGrid's Event Webhook names, written by the email pipeline)
# → the `event_name` the Email Activity API reports. Types not listed here (the
# pipeline's internal `sent`, say) are not Email Activity events and are never shown.
EVENT_NAMES: Final[dict[str, str]] = {
    "processed": "processed",
    "deferred": "deferred",
    "delivered": "delivered",
    "bounce": "bounced",
    "dropped": "dropped",
    "open": "opened",
    "click": "clicked",
    "spamreport": "spam_report",
    "unsubscribe": "unsubscribe",
    "group_unsubscribe": "group_unsubscribe",
    "group_resubscribe": "group_resubscribe",
}

# What a query may say → the stored type: the API's names, and the webhook's as aliases.
EVENT_TYPES: Final[dict[str, str]] = {
    **{stored: stored for stored in EVENT_NAMES},
    **{api: stored for stored, api in EVENT_NAMES.items()},
}
