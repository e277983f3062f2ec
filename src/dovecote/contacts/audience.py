"""Who a send to a list reaches: the list's contacts that have a phone number."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from dovecote.contacts import store
from dovecote.contacts.service import PERMISSION, Contact, contact_from_row
from dovecote.core.errors import InvalidInput
from dovecote.core.models import Principal


async def phone_recipients(
    conn: AsyncConnection, principal: Principal, list_id: int, *, limit: int
) -> list[Contact] | None:
    """The list's contacts with a phone number, in id order; None when the caller may not
    send to the list (no such list in its account, or no `access_contacts`). More than
    `limit` is refused: a bigger list is a campaign's work, not one request's."""
    if not principal.can(PERMISSION):
        return None
    if await store.get_list(conn, principal.account.id, list_id) is None:
        return None
    rows = await store.phone_contacts(conn, principal.account.id, list_id, limit=limit + 1)
    if len(rows) > limit:
        raise InvalidInput(
            f"List #{list_id} has more than {limit} contacts with a phone number; "
            f"one request sends at most {limit} messages.",
            code="TOO_MANY_RECIPIENTS",
            field="list_id",
        )
    return [contact_from_row(row) for row in rows]
