"""SMS composition: recipients, sender ids, parts, schedule and price for each message."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from dovecote.channels.sms.parts import count_parts
from dovecote.core.models import Account
from dovecote.core.phone import InvalidRecipient, is_test_number, parse_recipient
from dovecote.pipeline.compose import (  # re-exported: SMS's names for them
    MAX_LIST_ID,
    MAX_SCHEDULE_AHEAD,
    check_count,
    parse_list_id,
    parse_schedule,
    valid_sender,
)
from dovecote.pipeline.outbound import Outbound
from dovecote.pipeline.pricing import BatchPrices, PriceBook

CHANNEL = "sms"


@dataclass(frozen=True, slots=True)
class SmsRequest:
    """One message as the client sent it (already type-checked by the API layer)."""

    to: str | None
    body: str | None
    sender: str | None = None
    country: str | None = None
    schedule: int | float | str | None = None
    custom_string: str | None = None
    source: str | None = None
    from_email: str | None = None
    list_id: int | str | None = None  # as sent; checked by parse_list_id
    contact_id: int | None = None  # the contact a list send was expanded for


def compose(
    requests: Sequence[SmsRequest], account: Account, prices: PriceBook, *, now: float
) -> list[Outbound]:
    check_count(requests)
    batch_prices = BatchPrices(prices, CHANNEL, account.currency)
    return [_compose_one(request, account, batch_prices, now) for request in requests]


def _compose_one(
    request: SmsRequest, account: Account, prices: BatchPrices, now: float
) -> Outbound:
    list_id = parse_list_id(request.list_id)
    item = Outbound(
        channel=CHANNEL,
        recipient=(request.to or "").strip(),
        body=request.body or "",
        sender=(request.sender or "").strip(),
        custom_string=request.custom_string,
        source=request.source,
        from_email=request.from_email,
        list_id=None if list_id is False else list_id,
    )
    if request.contact_id is not None:
        item.extra["contact_id"] = request.contact_id
    if list_id is False or (list_id is not None and not request.to):
        # A list still here was not expanded (`audience.expand_lists`): not the caller's
        # to send to. A list id no list can have is a list the caller may not send to either.
        item.status = "NOT_ENOUGH_PERMISSION_TO_LIST_ID"
        return item
    try:
        recipient = parse_recipient(item.recipient, request.country or account.country)
    except InvalidRecipient:
        item.status = "INVALID_RECIPIENT"
        return item
    item.recipient, item.country = recipient.e164, recipient.country
    if not item.body.strip():
        item.status = "EMPTY_MESSAGE"
        return item
    if item.sender and not valid_sender(item.sender):
        item.status = "INVALID_SENDER_ID"
        return item
    schedule = parse_schedule(request.schedule, now)
    if schedule is False:
        item.status = "INVALID_SCHEDULE"
        return item
    item.schedule = schedule or None
    # Parts decide the price: one character outside GSM 03.38 (a curly quote ’, a
    # non-breaking space, an emoji) switches the whole message to UCS-2 at 70/67
    # characters per part, which roughly doubles what it costs.
    parts = count_parts(item.body, account.sms_max_parts)
    item.body, item.parts, item.encoding = parts.body, parts.parts, parts.encoding
    if is_test_number(item.recipient):
        item.is_test = True  # the spec's test numbers: success, nothing sent, nothing charged
        return item
    item.price_micros = prices.micros(item.country, item.parts)
    return item


__all__ = [
    "MAX_LIST_ID",
    "MAX_SCHEDULE_AHEAD",
    "SmsRequest",
    "check_count",
    "compose",
    "parse_list_id",
    "parse_schedule",
    "valid_sender",
]
