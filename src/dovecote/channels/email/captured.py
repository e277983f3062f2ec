"""What a transport was (or would have been) handed: the exact stored bytes of a message.

In the sandbox nothing leaves the machine, so this is how users read what they sent —
the MIME of an email, a verification link, an EmailVerify code.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from dovecote.channels.email import store
from dovecote.core.errors import NotFound
from dovecote.core.models import Principal


async def email_source(conn: AsyncConnection, principal: Principal, message_id: str) -> bytes:
    """The RFC 5322 source of one of the caller's emails (subaccounts: their own only)."""
    owner = await store.email_owner(conn, message_id)
    visible = owner is not None and owner[0] == principal.account.id
    if visible and owner is not None and not principal.user.is_main:
        visible = owner[1] == principal.user.id or principal.can("access_reporting")
    source = await store.content(conn, message_id) if visible else None
    if source is None:
        raise NotFound(f"Email {message_id} not found.")
    return source
