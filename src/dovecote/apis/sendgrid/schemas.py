"""SendGrid Email Activity wire shapes, as the OpenAPI description dictates them."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel

from dovecote.activity.search import ActivityEvent, MessageDetail, MessageSummary


def iso_time(seconds: float) -> str:
    """`2017-10-13T18:56:21Z`: SendGrid's format, whole seconds, UTC."""
    return datetime.fromtimestamp(int(seconds), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class AbbreviatedMessage(BaseModel):
    from_email: str
    msg_id: str
    subject: str
    to_email: str
    status: str
    opens_count: int
    clicks_count: int
    last_event_time: str

    @classmethod
    def of(cls, message: MessageSummary) -> AbbreviatedMessage:
        return cls(
            from_email=message.from_email,
            msg_id=message.msg_id,
            subject=message.subject,
            to_email=message.to_email,
            status=message.status,
            opens_count=message.opens_count,
            clicks_count=message.clicks_count,
            last_event_time=iso_time(message.last_event_time),
        )


class MessageList(BaseModel):
    messages: list[AbbreviatedMessage]


class Event(BaseModel):
    event_name: str
    processed: str
    reason: str | None = None
    attempt_num: int | None = None
    url: str | None = None
    bounce_type: str | None = None
    http_user_agent: str | None = None
    mx_server: str | None = None

    @classmethod
    def of(cls, event: ActivityEvent) -> Event:
        return cls(event_name=event.name, processed=iso_time(event.occurred_at), **event.details)


class Message(AbbreviatedMessage):
    """One message in full. Missing text fields are "" rather than null (the spec types
    them as strings and lists them as required). `asm_group_id` (an integer ≥ 1) and
    `api_key_id` (3 to 50 characters) have no value for "none": a message sent without an
    unsubscribe group or without an API key has no such field."""

    template_id: str
    asm_group_id: int | None
    teammate: str
    api_key_id: str | None
    events: list[Event]
    originating_ip: str
    categories: list[str]
    unique_args: str  # a JSON object as text: the spec's type for it
    outbound_ip: str
    outbound_ip_type: str

    @classmethod
    def of_detail(cls, message: MessageDetail) -> Message:
        return cls(
            **AbbreviatedMessage.of(message.summary).model_dump(),
            template_id=message.template_id or "",
            asm_group_id=message.asm_group_id,
            teammate=message.teammate or "",
            api_key_id=message.api_key_id or None,
            events=[Event.of(e) for e in message.events],
            originating_ip=message.originating_ip,
            categories=message.categories,
            unique_args=json.dumps(message.unique_args),
            outbound_ip=message.outbound_ip,
            outbound_ip_type=message.outbound_ip_type,
        )

    def wire(self) -> dict[str, Any]:
        # Event fields appear only where they apply, as in SendGrid's responses.
        absent = {name for name in ("asm_group_id", "api_key_id") if getattr(self, name) is None}
        data = self.model_dump(exclude={"events", *absent})
        data["events"] = [event.model_dump(exclude_none=True) for event in self.events]
        return data
