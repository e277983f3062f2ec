"""Who an SMS send reaches: messages to a `list_id` become one message per contact,
personalised, and numbers on the account's opt-out list are skipped (`OPTED_OUT`, never
charged)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from sqlalchemy.ext.asyncio import AsyncConnection

from dovecote.billing import ledger
from dovecote.channels.sms.compose import SmsRequest, compose, parse_list_id
from dovecote.contacts import audience, optouts, personalise
from dovecote.contacts import store as contact_store
from dovecote.core.errors import InvalidInput
from dovecote.core.models import Principal
from dovecote.pipeline.outbound import MAX_MESSAGES, Outbound
from dovecote.pipeline.pricing import PriceBook
from dovecote.storage import deferred

OPTED_OUT = "OPTED_OUT"


async def begin_batch(conn: AsyncConnection, account_ids: list[int]) -> None:
    """What a group-commit batch of single sends does before its first unit
    (`Runtime.writer`): its accounts locked with their balances read
    (`billing.ledger.hold`), and which of them have an opt-out list. One statement each for
    all the batch's accounts, where each account's first send read its own — with eight
    busy accounts, sixteen statements per batch instead of two."""
    await ledger.hold(conn, account_ids)
    batch = deferred.of(conn)
    if batch is not None:
        await contact_store.read_opt_out_lists(conn, batch, account_ids)


async def prepare(
    conn: AsyncConnection,
    principal: Principal,
    requests: Sequence[SmsRequest],
    prices: PriceBook,
    *,
    now: float,
) -> list[Outbound]:
    """Expand lists, compose, and mark opted-out recipients: the items `accept` takes."""
    expanded = await expand_lists(conn, principal, requests)
    items = compose(expanded, principal.account, prices, now=now)
    await skip_opted_out(conn, principal.account.id, items)
    return items


async def expand_lists(
    conn: AsyncConnection, principal: Principal, requests: Sequence[SmsRequest]
) -> list[SmsRequest]:
    """Each message with a `list_id` and no `to` → one message per contact with a phone
    number, its body personalised. A list the caller may not send to stays one message,
    which compose answers NOT_ENOUGH_PERMISSION_TO_LIST_ID."""
    singles = sum(1 for request in requests if not _list_of(request))
    room = MAX_MESSAGES - singles
    expanded: list[SmsRequest] = []
    for index, request in enumerate(requests):
        list_id = _list_of(request)
        if list_id is None:
            expanded.append(request)
            continue
        field = f"messages[{index}].body"
        personalise.check(request.body or "", field)
        contacts = await audience.phone_recipients(conn, principal, list_id, limit=max(room, 0))
        if contacts is None:
            expanded.append(request)
            continue
        if not contacts:
            raise InvalidInput(
                f"messages[{index}].list_id: list #{list_id} has no contact with a phone number.",
                field="list_id",
            )
        room -= len(contacts)
        for contact in contacts:
            expanded.append(
                replace(
                    request,
                    to=contact.fields["phone_number"],
                    body=personalise.fill(request.body or "", contact.fields),
                    country=contact.fields["address_country"] or request.country,
                    contact_id=contact.id,
                )
            )
    return expanded


def _list_of(request: SmsRequest) -> int | None:
    """The list a message is addressed to (a valid id and no `to`), else None."""
    if request.to:
        return None
    list_id = parse_list_id(request.list_id)
    return list_id if isinstance(list_id, int) else None


async def skip_opted_out(conn: AsyncConnection, account_id: int, items: Sequence[Outbound]) -> None:
    candidates = [item for item in items if item.ok]
    if not candidates:
        return
    blocked = await optouts.opted_out(conn, account_id, (item.recipient for item in candidates))
    for item in candidates:
        if item.recipient in blocked:
            item.status = OPTED_OUT
            item.price_micros = 0
