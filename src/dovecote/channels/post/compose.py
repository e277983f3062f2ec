"""Letters and postcards: one `Outbound` per recipient, priced per sheet or per card.

A letter costs `post` per sheet to its country, plus `post-colour` per sheet in colour
and `post-priority` once for priority post (all in the price book); duplex prints two
pages a sheet. A postcard costs `postcard` to its country. The spec's test postal codes
succeed, are charged nothing and never reach a transport.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from dovecote.channels.post.address import Address
from dovecote.core.ids import new_id
from dovecote.core.models import Account
from dovecote.core.money import to_micros
from dovecote.pipeline.compose import check_count, parse_schedule
from dovecote.pipeline.outbound import Outbound
from dovecote.pipeline.pricing import PriceBook

LETTER = "post"
# ClickSend's usage report names the channel `postcards`; the price book block is `postcard`.
POSTCARD = "postcards"
POSTCARD_PRICE = "postcard"


@dataclass(frozen=True, slots=True)
class Options:
    colour: bool = False
    duplex: bool = False
    priority: bool = False


@dataclass(frozen=True, slots=True)
class Recipient:
    address: Address
    return_address_id: int | None = None
    schedule: int | float | str | None = None
    custom_string: str | None = None


def letter_price(
    prices: PriceBook, currency: str, country: str, sheets: int, options: Options
) -> int:
    per_sheet = to_micros(prices.unit_price(LETTER, currency, country))
    if options.colour:
        per_sheet += to_micros(prices.unit_price("post-colour", currency, country))
    total = per_sheet * sheets
    if options.priority:
        total += to_micros(prices.unit_price("post-priority", currency, country))
    return total


def compose(
    recipients: Sequence[Recipient],
    account: Account,
    prices: PriceBook,
    *,
    channel: str,
    now: float,
    document_key: str,
    unit_price: Any,
    source: str | None = None,
) -> list[Outbound]:
    """`unit_price(country) → micros` prices one item (a letter's sheets, a card)."""
    check_count(recipients)
    items = []
    for recipient in recipients:
        address = recipient.address
        item = Outbound(
            channel=channel,
            recipient=address.one_line(),
            body="",
            subject=address.address_name,
            country=address.address_country,
            custom_string=recipient.custom_string,
            source=source,
            id=new_id(),
        )
        item.fingerprint = f"{channel}\x00{document_key}"
        # What the letter sandbox prints (the proof) when the letter is dispatched.
        item.payload = {"document": document_key, "address": address.lines()}
        item.extra = {"address": address, "return_address_id": recipient.return_address_id}
        schedule = parse_schedule(recipient.schedule, now)
        if schedule is False:
            item.status = "INVALID_SCHEDULE"
        else:
            item.schedule = schedule or None
            if address.is_test:
                item.is_test = True
            else:
                item.price_micros = unit_price(address.address_country)
        items.append(item)
    return items
