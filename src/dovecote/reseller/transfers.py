"""Moving credit from a reseller to one of its clients.

`transfer` is the one place credit changes hands between accounts: a conditional debit
of the sender and a credit of the receiver in the caller's transaction, so either both
balances change or neither does. The debit is `UPDATE … WHERE balance >= amount`:
concurrent transfers (and sends) serialize on the sender's row, and the sender can never
be overdrawn. Locks are taken sender first, then receiver, and a client never sends
credit back, so two transfers cannot wait on each other.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from dovecote.core.errors import DomainError, InvalidInput
from dovecote.core.money import from_micros
from dovecote.pipeline import queue

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
    if not await queue.debit(conn, from_account_id, amount_micros):
        raise InsufficientCredit(
            f"Your balance does not cover a transfer of {from_micros(amount_micros):f}; "
            "nothing was transferred.",
            field="balance",
        )
    await queue.credit(conn, to_account_id, amount_micros)
