"""MMS composition: recipients, subject, text limits, schedule and price for each message.

ClickSend counts an MMS as one message whatever its text (up to 1,500 GSM characters,
500 once any character is outside GSM 03.38; longer text is truncated, as ClickSend
does), so the price is the country's MMS unit price, once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from dovecote.core.gsm import is_gsm
from dovecote.core.models import Account
from dovecote.core.money import to_micros
from dovecote.core.phone import InvalidRecipient, is_test_number, parse_recipient
from dovecote.pipeline.compose import check_count, parse_list_id, parse_schedule, valid_sender
from dovecote.pipeline.outbound import Outbound
from dovecote.pipeline.pricing import PriceBook

CHANNEL = "mms"
MAX_GSM_CHARS = 1500
MAX_UNICODE_CHARS = 500
MAX_SUBJECT_CHARS = 20  # the spec: "Subject line. Maximum 20 characters."


@dataclass(frozen=True, slots=True)
class MmsRequest:
    """One message as the client sent it (already type-checked by the API layer)."""

    to: str | None
    body: str | None
    subject: str | None
    sender: str | None = None
    country: str | None = None
    schedule: int | float | str | None = None
    custom_string: str | None = None
    source: str | None = None
    from_email: str | None = None
    list_id: int | str | None = None


def compose(
    requests: Sequence[MmsRequest],
    account: Account,
    prices: PriceBook,
    *,
    now: float,
    media_key: str = "",
) -> list[Outbound]:
    """`media_key` (the stored media's content-addressed key) joins the subject in what
    makes two MMS identical for the throttle: the same text with another picture is
    another message, and an SMS never throttles an MMS."""
    check_count(requests)
    items = [_compose_one(request, account, prices, now) for request in requests]
    for item in items:
        item.fingerprint = f"{CHANNEL}\x00{item.subject}\x00{media_key}"
        if media_key and item.ok:
            # For a transport that hands the media on (the http transport links to it).
            item.payload = {"media": media_key}
    return items


def truncate(body: str) -> tuple[str, str]:
    """(body within ClickSend's limit, encoding)."""
    if is_gsm(body):
        return body[:MAX_GSM_CHARS], "GSM"
    return body[:MAX_UNICODE_CHARS], "UCS2"


def _compose_one(request: MmsRequest, account: Account, prices: PriceBook, now: float) -> Outbound:
    list_id = parse_list_id(request.list_id)
    item = Outbound(
        channel=CHANNEL,
        recipient=(request.to or "").strip(),
        body=request.body or "",
        subject=(request.subject or "").strip()[:MAX_SUBJECT_CHARS],
        sender=(request.sender or "").strip(),
        custom_string=request.custom_string,
        source=request.source,
        from_email=request.from_email,
        list_id=None if list_id is False else list_id,
    )
    if list_id is False or (list_id is not None and not request.to):
        # Contact lists are not part of this release (as for SMS): say so, never drop.
        item.status = "NOT_ENOUGH_PERMISSION_TO_LIST_ID"
        return item
    try:
        recipient = parse_recipient(item.recipient, request.country or account.country)
    except InvalidRecipient:
        item.status = "INVALID_RECIPIENT"
        return item
    item.recipient, item.country = recipient.e164, recipient.country
    if not item.subject:
        item.status = "SUBJECT_REQUIRED"
        return item
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
    item.body, item.encoding = truncate(item.body)
    item.parts = 1
    if is_test_number(item.recipient):
        item.is_test = True  # the spec's test numbers: success, nothing sent, nothing charged
        return item
    item.price_micros = to_micros(prices.unit_price(CHANNEL, account.currency, item.country))
    return item
