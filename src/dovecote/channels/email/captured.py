"""What the email sandbox captured: the exact stored bytes of a message it kept.

In the sandbox nothing leaves the machine, so this is how users read what they sent —
the MIME of an email, a verification link, an EmailVerify code — and `list_captured`
is how they find it without knowing its id.

Read-back exists only for mail the sandbox captured and did not deliver for real. When
email's configured transport is not the email sandbox, nothing is readable (the server
may be delivering right now); and a message whose events show a real mail server (it
was handed to SMTP before the configuration changed) stays unreadable for good. This
matters most for Dovecote's own mail: a sender-verification token or a one-time code
that went to a real mailbox proves control of that mailbox only while the account
cannot read it back.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from dovecote.channels.email import store
from dovecote.channels.email.channel import EMAIL
from dovecote.core.errors import NotFound
from dovecote.core.models import Principal
from dovecote.pipeline.scope import scope_for
from dovecote.pipeline.transports import registry
from dovecote.settings import Settings
from dovecote.storage.listing import ListQuery, Page


def sandbox_captures(settings: Settings) -> bool:
    """Whether email's configured transport is the email sandbox (nothing is delivered)."""
    return registry.chosen(EMAIL, settings) == EMAIL.sandbox_transport


async def email_source(
    conn: AsyncConnection, principal: Principal, message_id: str, *, settings: Settings
) -> bytes:
    """The RFC 5322 source of one of the caller's emails (subaccounts: their own only,
    unless `access_reporting`), if the sandbox captured it; NotFound otherwise."""
    missing = NotFound(f"Email {message_id} not found.")
    if not sandbox_captures(settings):
        raise missing
    owner = await store.email_owner(conn, message_id)
    visible = owner is not None and owner[0] == principal.account.id
    if visible and owner is not None and not principal.user.is_main:
        visible = owner[1] == principal.user.id or principal.can("access_reporting")
    source = await store.captured_content(conn, message_id) if visible else None
    if source is None:
        raise missing
    return source


async def list_captured(
    conn: AsyncConnection,
    principal: Principal,
    params: ListQuery,
    *,
    settings: Settings,
    to: str | None = None,
) -> Page:
    """Every email the sandbox captured for the caller, system mail included (a
    verification token or a one-time code can be found without knowing its id), newest
    first: the account's for the main user and `access_reporting` users, their own for
    others. NotFound when email is not going to the sandbox, as for one email."""
    if not sandbox_captures(settings):
        raise NotFound("Email is not captured: the email transport is not the sandbox.")
    scope = scope_for(principal)
    return await store.list_captured(conn, scope.account_id, scope.user_id, params, to=to)
