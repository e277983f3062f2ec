"""Moving credit from a reseller to one of its clients.

`transfer` is the one place credit changes hands between a reseller and its clients:
`billing.ledger.transfer`, a conditional debit of the sender and a credit of the
receiver in the caller's transaction, each with its ledger entry, so either both
balances change or neither does. The debit is `UPDATE … WHERE balance >= amount`:
concurrent transfers (and sends) serialize on the sender's row, and the sender can never
be overdrawn.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from dovecote.billing import ledger
from dovecote.core.errors import DomainError, InvalidInput
from dovecote.core.money import from_micros

# Far above any real balance, far below a BIGINT's range (PostgreSQL would refuse it).
MAX_TRANSFER_MICROS = 10**18


class InsufficientCredit(DomainError):
    status = 400
    code = "INSUFFICIENT_CREDIT"


async def transfer(
    conn: AsyncConnection, *, from_account_id: int, to_account_id: int, amount_micros: int
) -> None:
    """Debit `from_account_id` and credit `to_account_id` by `amount_micros`, or raise
    `InsufficientCredit` having moved nothing."""
    if not 0 < amount_micros <= MAX_TRANSFER_MICROS:
        raise InvalidInput("balance must be more than zero and at most 1e12.", field="balance")
    if from_account_id == to_account_id:
        raise InvalidInput("Credit cannot be transferred to the same account.")
    # The ledger writes a transfer_out and a transfer_in entry beside the two balances
    # (and on PostgreSQL locks both accounts in id order first: no deadlock).
    moved = await ledger.transfer(
        conn,
        from_account_id,
        to_account_id,
        amount_micros,
        reference=f"reseller transfer {from_account_id}->{to_account_id}",
    )
    if not moved:
        raise InsufficientCredit(
            f"Your balance does not cover a transfer of {from_micros(amount_micros):f}; "
            "nothing was transferred.",
            field="balance",
        )
