"""Fax composition: one document (a PDF fetched from `file_url`) to each recipient,
priced per page.

The document is loaded by `pipeline.media` (Dovecote's own upload links from the file
store, anything else through the guarded fetch), checked and counted
before anything is charged; a bad document is a 400 for the whole request (every
recipient would get the same pages). It is kept once in the file store, keyed by its
hash, and each queued fax names it in its payload.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from dovecote.channels.fax import document
from dovecote.core.models import Account
from dovecote.core.money import to_micros
from dovecote.core.phone import InvalidRecipient, parse_recipient
from dovecote.files.store import FileStore
from dovecote.pipeline import media
from dovecote.pipeline.compose import check_count, parse_list_id, parse_schedule
from dovecote.pipeline.outbound import Outbound
from dovecote.pipeline.pricing import PriceBook
from dovecote.settings import Settings

CHANNEL = "fax"
# The spec's test fax numbers: success, nothing sent, nothing charged.
TEST_FAX_NUMBERS = frozenset({"+61261111111", "+61262222222", "+61263333333"})


@dataclass(frozen=True, slots=True)
class FaxRequest:
    to: str | None
    sender: str | None = None
    country: str | None = None
    schedule: int | float | str | None = None
    custom_string: str | None = None
    source: str | None = None
    from_email: str | None = None
    list_id: int | str | None = None


@dataclass(frozen=True, slots=True)
class Fetched:
    """The document as fetched and checked: bytes, page count and where it is kept."""

    content: bytes
    pages: int
    url: str

    @property
    def key(self) -> str:
        return f"fax/documents/{hashlib.sha256(self.content).hexdigest()}.pdf"


async def fetch_document(url: str, *, files: FileStore, settings: Settings) -> Fetched:
    """The PDF behind `file_url`: an upload link of this Dovecote (`/v3/uploads`) is read
    from the file store, any other URL fetched."""
    fetched = await media.load(
        url, field="file_url", max_bytes=document.MAX_BYTES, store=files, settings=settings
    )
    checked = await asyncio.to_thread(document.inspect, fetched.content)
    return Fetched(content=fetched.content, pages=checked.pages, url=url)


async def keep(files: FileStore, fetched: Fetched) -> None:
    if not await files.exists(fetched.key):
        await files.put(fetched.key, fetched.content, "application/pdf")


def compose(
    requests: Sequence[FaxRequest],
    fetched: Fetched,
    account: Account,
    prices: PriceBook,
    *,
    now: float,
) -> list[Outbound]:
    check_count(requests)
    items = []
    for request in requests:
        item = _validate(request, account, now)
        if item.ok:
            item.parts = fetched.pages
            # A fax's "body" is its document: the same pages to the same number inside
            # the throttle window are THROTTLED, as an identical SMS would be.
            item.body = fetched.key
            item.payload = {
                "document": fetched.key,
                "pages": fetched.pages,
                "file_url": fetched.url,
            }
            if not item.is_test:
                unit = prices.unit_price(CHANNEL, account.currency, item.country)
                item.price_micros = to_micros(unit * Decimal(fetched.pages))
        items.append(item)
    return items


def _validate(request: FaxRequest, account: Account, now: float) -> Outbound:
    list_id = parse_list_id(request.list_id)
    item = Outbound(
        channel=CHANNEL,
        recipient=(request.to or "").strip(),
        body="",
        sender=(request.sender or "").strip(),
        custom_string=request.custom_string,
        source=request.source,
        from_email=request.from_email,
        list_id=None if list_id is False else list_id,
        encoding="",
    )
    if list_id is False or (list_id is not None and not request.to):
        item.status = "NOT_ENOUGH_PERMISSION_TO_LIST_ID"  # no contact lists yet (as SMS)
        return item
    try:
        recipient = parse_recipient(item.recipient, request.country or account.country)
    except InvalidRecipient:
        item.status = "INVALID_RECIPIENT"
        return item
    item.recipient, item.country = recipient.e164, recipient.country
    if item.sender:
        try:
            item.sender = parse_recipient(item.sender, account.country).e164
        except InvalidRecipient:
            item.status = "INVALID_SENDER_ID"  # a fax sender id is a fax number
            return item
    schedule = parse_schedule(request.schedule, now)
    if schedule is False:
        item.status = "INVALID_SCHEDULE"
        return item
    item.schedule = schedule or None
    item.is_test = item.recipient in TEST_FAX_NUMBERS
    return item
