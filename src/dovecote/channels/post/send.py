"""Sending (or pricing) letters and postcards: one path for both kinds.

Each kind has a document loader (`load_letter`, `load_postcard`) that fetches and checks
its PDFs and says how one item is priced (`Printed`). Everything after is the same:
the return addresses named are checked, one `Outbound` is composed per recipient, the
documents are stored (only for a real send with something to send), the items are
charged and queued through `outbound.accept`, and the post rows are attached in the
same transaction. The documents are loaded before any connection is held: a fetch may
take seconds, and a bad file refuses the whole request before anything is charged.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from dovecote.channels.post import compose, document, items, return_addresses
from dovecote.channels.post.compose import Options, Recipient
from dovecote.core.errors import InvalidInput
from dovecote.core.models import Principal
from dovecote.core.money import to_micros
from dovecote.files.store import FileStore
from dovecote.pipeline import outbound
from dovecote.pipeline.events import EventLog
from dovecote.pipeline.pricing import PriceBook
from dovecote.settings import Settings

POSTCARD_FIELD = "file_urls"
MAX_SIDES = 2


@dataclass(frozen=True, slots=True)
class Printed:
    """A send's checked documents and how one item of it is priced."""

    kind: str  # "letter" | "postcard": the post row's kind (the sandbox's paper)
    channel: str
    documents: Sequence[document.Document]  # a letter's file; a postcard's front, back
    options: Options
    sheets: int  # what one letter is printed on (a postcard: 1)
    unit_price: Callable[[str], int]  # micros for one item to a country

    @property
    def pages(self) -> int:
        return sum(side.pages for side in self.documents)


@dataclass(frozen=True, slots=True)
class Sent:
    accepted: outbound.Accepted
    printed: Printed
    # The return addresses named, by id (each belongs to the account).
    returns: Mapping[int, Mapping[str, Any]]


async def load_letter(
    url: str | None,
    options: Options,
    *,
    prices: PriceBook,
    currency: str,
    files: FileStore,
    settings: Settings,
) -> Printed:
    found = await document.load(
        url, field="file_url", kind="letter", store=files, settings=settings
    )
    sheet_count = document.check_sheets(found, duplex=options.duplex)
    return Printed(
        kind="letter",
        channel=compose.LETTER,
        documents=[found],
        options=options,
        sheets=sheet_count,
        unit_price=lambda country: compose.letter_price(
            prices, currency, country, sheet_count, options
        ),
    )


async def load_postcard(
    urls: Sequence[str],
    *,
    prices: PriceBook,
    currency: str,
    files: FileStore,
    settings: Settings,
) -> Printed:
    """The front and, if given, the back: one or two postcard-sized pages in all."""
    if not 1 <= len(urls) <= MAX_SIDES:
        raise document.refuse(
            POSTCARD_FIELD, "give one or two PDF URLs (the front, then the back)."
        )
    sides = [
        await document.load(
            url, field=POSTCARD_FIELD, kind="postcard", store=files, settings=settings
        )
        for url in urls
    ]
    if sum(side.pages for side in sides) > MAX_SIDES:
        raise document.refuse(POSTCARD_FIELD, "a postcard has two sides: at most two pages in all.")
    return Printed(
        kind="postcard",
        channel=compose.POSTCARD,
        documents=sides,
        options=Options(colour=True),
        sheets=1,
        unit_price=lambda country: to_micros(
            prices.unit_price(compose.POSTCARD_PRICE, currency, country)
        ),
    )


async def check_return_addresses(
    engine: AsyncEngine, principal: Principal, recipients: Sequence[Recipient]
) -> dict[int, Mapping[str, Any]]:
    """Every return address named belongs to the account; else the request is refused."""
    wanted = {r.return_address_id for r in recipients if r.return_address_id is not None}
    async with engine.connect() as conn:
        found = await return_addresses.many(conn, principal.account.id, wanted)
    unknown = sorted(wanted - found.keys())
    if unknown:
        raise InvalidInput(
            f"recipients: no return address {unknown[0]} in this account.",
            field="return_address_id",
        )
    return found


async def accept(
    principal: Principal,
    recipients: Sequence[Recipient],
    printed: Printed,
    *,
    engine: AsyncEngine,
    files: FileStore,
    prices: PriceBook,
    events: EventLog,
    throttle_window: int,
    source: str | None,
    dry_run: bool,
    now: float | None = None,
) -> Sent:
    """Charge and queue one item of `printed` per recipient (`dry_run`: price only)."""
    moment = time.time() if now is None else now
    returns = await check_return_addresses(engine, principal, recipients)
    front, *back = printed.documents
    prepared = compose.compose(
        recipients,
        principal.account,
        prices,
        channel=printed.channel,
        now=moment,
        document_key="\x00".join(side.key for side in printed.documents),
        unit_price=printed.unit_price,
        source=source,
    )
    if not dry_run and any(item.ok for item in prepared):
        # The sandbox renders the proofs from them when the items are dispatched.
        for side in printed.documents:
            await files.put(side.key, side.data, "application/pdf")
    async with engine.begin() as conn:
        accepted = await outbound.accept(
            conn,
            principal,
            prepared,
            now=moment,
            throttle_window=throttle_window,
            dry_run=dry_run,
            events=events,
        )
        if not dry_run:
            await items.attach(
                conn,
                principal.account.id,
                accepted.items,
                kind=printed.kind,
                options=printed.options,
                pages=printed.pages,
                file_key=front.key,
                back_key=back[0].key if back else None,
                now=int(moment),
            )
    return Sent(accepted, printed, returns)
