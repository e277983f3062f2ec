"""Delivery receipts: what a `deliver_sm` receipt says, and what it becomes.

A receipt names its message by the id `submit_sm_resp` returned (kept as the message's
`transport_ref`): the `receipted_message_id` TLV when present, else the `id:` of the
receipt text. Its state is the `message_state` TLV when present, else `stat:`.

    stat / message_state       outcome     ClickSend status_code   error_code
    DELIVRD / 2 DELIVERED      delivered   201 Delivered           -
    EXPIRED / 3 EXPIRED        expired     301 Expired             err
    REJECTD / 8 REJECTED       failed      302 Rejected            302
    UNDELIV / 5 UNDELIVERABLE  failed      300 Failed              err
    DELETED / 4 DELETED        failed      300 Failed              err
    UNKNOWN / 7 UNKNOWN        failed      300 Failed              err
    ENROUTE, ACCEPTD (1, 6)    none: not final, acknowledged and ignored

`err` is the receipt's three-digit network error; the event's data also carries
`smpp_stat` and `smpp_err` as the SMSC sent them.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import sqlalchemy as sa
from aiosmpplib import DeliverSm
from aiosmpplib.state import MESSAGE_STATE, RECEIPTED_MESSAGE_ID
from sqlalchemy.ext.asyncio import AsyncConnection

from dovecote.pipeline import status as st
from dovecote.pipeline.pushed import Pushed
from dovecote.pipeline.transports.base import Outcome, Reply
from dovecote.storage.tables import messages, smpp_deliveries

log = logging.getLogger("dovecote.smpp")

_STATES = {
    1: "ENROUTE",
    2: "DELIVRD",
    3: "EXPIRED",
    4: "DELETED",
    5: "UNDELIV",
    6: "ACCEPTD",
    7: "UNKNOWN",
    8: "REJECTD",
}
INTERIM = frozenset({"ENROUTE", "ACCEPTD"})

PENDING, UNMATCHED, UNROUTED = "pending", "unmatched", "unrouted"


@dataclass(frozen=True, slots=True)
class Receipt:
    message_id: str  # the SMSC's id, our transport_ref
    stat: str
    err: str
    text: str


def parse(message: DeliverSm) -> Receipt:
    """The receipt in a `deliver_sm` whose esm_class says it is one; lenient, since
    SMSCs vary: a field that cannot be read is left empty rather than refused."""
    tlvs = {param.tag: param.value for param in message.optional_params or []}
    text = message.short_message or message.message_payload
    fields: dict[str, str] = {}
    for key in ("id", "stat", "err"):
        start = text.lower().find(f"{key}:")
        if start >= 0:
            value = text[start + len(key) + 1 :].split(" ", 1)[0]
            fields[key] = value.strip()
    message_id = str(tlvs.get(RECEIPTED_MESSAGE_ID) or fields.get("id", "")).strip()
    state = tlvs.get(MESSAGE_STATE)
    stat = _STATES.get(state, "") if isinstance(state, int) else ""
    return Receipt(
        message_id, (stat or fields.get("stat", "")).upper(), fields.get("err", ""), text
    )


def outcome(receipt: Receipt) -> Outcome | None:
    """The outcome a final receipt means; None for an interim one."""
    if receipt.stat in INTERIM:
        return None
    detail = {"smpp_stat": receipt.stat, "smpp_err": receipt.err}
    err = int(receipt.err) if receipt.err.isdigit() else None
    if err is not None and (err == 0 or err in st.RECEIPT_CODES):
        err = None  # 0 is "no error"; a number that is a status code would pass as one
    if receipt.stat == "DELIVRD":
        return Outcome("delivered", detail=detail)
    if receipt.stat == "EXPIRED":
        return Outcome("expired", error_code=err, error_text="Expired at the SMSC", detail=detail)
    if receipt.stat == "REJECTD":
        return Outcome("failed", error_code=302, error_text="Rejected by the SMSC", detail=detail)
    text = f"{receipt.stat or 'no state'} err:{receipt.err or '-'}"
    return Outcome("failed", error_code=err, error_text=text, detail=detail)


async def message_for(conn: AsyncConnection, smsc_id: str) -> str | None:
    query = sa.select(messages.c.id).where(
        messages.c.transport_ref == smsc_id, messages.c.direction == "out"
    )
    found = (await conn.execute(query.limit(1))).scalar()
    return None if found is None else str(found)


async def apply(pushed: Pushed, conn: AsyncConnection, receipt: Receipt) -> str:
    """ "applied"; "final" (a duplicate, or an interim state: nothing to do); or "held"
    (no message has this id yet, or the dispatcher still holds it: try again)."""
    meaning = outcome(receipt)
    if meaning is None:
        return "final"  # nothing to apply: an interim state
    message_id = await message_for(conn, receipt.message_id) if receipt.message_id else None
    if message_id is None:
        return "held"
    return await pushed.apply(conn, message_id, meaning)


async def hold(
    conn: AsyncConnection, receipt: Receipt, *, state: str = PENDING, now: float | None = None
) -> None:
    await conn.execute(
        smpp_deliveries.insert().values(
            kind="receipt",
            state=state,
            smsc_message_id=receipt.message_id[:128],
            stat=receipt.stat[:16],
            err=receipt.err[:16],
            body=receipt.text,
            received_at=time.time() if now is None else now,
        )
    )


async def retry_held(pushed: Pushed, hold_for: float, *, now: float | None = None) -> int:
    """Try the pending receipts again; past `hold_for` seconds one becomes unmatched
    (kept, logged). Returns how many were applied."""
    moment = time.time() if now is None else now
    applied = 0
    async with pushed.engine.begin() as conn:
        query = (
            sa.select(smpp_deliveries)
            .where(smpp_deliveries.c.state == PENDING, smpp_deliveries.c.kind == "receipt")
            .order_by(smpp_deliveries.c.received_at)
            .limit(500)
        )
        rows = (await conn.execute(query)).mappings().all()
    for row in rows:
        receipt = Receipt(
            row["smsc_message_id"] or "", row["stat"] or "", row["err"] or "", row["body"]
        )
        async with pushed.engine.begin() as conn:
            result = await apply(pushed, conn, receipt)
            where = smpp_deliveries.c.id == row["id"]
            if result != "held":
                applied += result == "applied"
                await conn.execute(smpp_deliveries.delete().where(where))
            elif moment - row["received_at"] >= hold_for:
                log.warning(
                    "receipt for SMSC message %r (%s) matches no message; kept as unmatched",
                    receipt.message_id,
                    receipt.stat,
                )
                await conn.execute(smpp_deliveries.update().where(where).values(state=UNMATCHED))
    return applied


async def hold_mo(conn: AsyncConnection, reply: Reply, *, now: float | None = None) -> None:
    """An MO no account takes (no owner of its number, no `smpp_mo_account`): kept for
    the operator."""
    await conn.execute(
        smpp_deliveries.insert().values(
            kind="mo",
            state=UNROUTED,
            sender=reply.sender[:32],
            recipient=reply.recipient[:32],
            body=reply.body,
            received_at=time.time() if now is None else now,
        )
    )


async def hold_unreadable(conn: AsyncConnection, pdu: bytes, *, now: float | None = None) -> None:
    """A deliver_sm aiosmpplib cannot parse: its PDU in hex, kept as unmatched."""
    log.warning("unreadable deliver_sm kept as unmatched: %s", pdu.hex())
    await conn.execute(
        smpp_deliveries.insert().values(
            kind="unreadable",
            state=UNMATCHED,
            body=pdu.hex(),
            received_at=time.time() if now is None else now,
        )
    )
