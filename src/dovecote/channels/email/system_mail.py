"""Dovecote's own mail (sender verification, one-time codes, export links), queued
through the email channel: the implementation of `pipeline.system_mail.SystemMail`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from sqlalchemy.ext.asyncio import AsyncConnection

from dovecote.accounts import store as account_store
from dovecote.channels.email import suppressions
from dovecote.channels.email.compose import Email, Mailbox, Tracking, mailbox, queue_emails
from dovecote.core.errors import NotFound
from dovecote.core.models import Principal
from dovecote.pipeline.events import EventLog
from dovecote.settings import Settings


class SystemMailer:
    def __init__(self, settings: Settings, events: EventLog) -> None:
        self.settings = settings
        self.events = events

    async def send(
        self,
        conn: AsyncConnection,
        *,
        account_id: int,
        user_id: int,
        to: str,
        subject: str,
        html: str,
        text: str | None = None,
        from_email: str | None = None,
        from_name: str | None = None,
        categories: Sequence[str] = (),
        unique_args: Mapping[str, str] | None = None,
        template_id: str | None = None,
        api_key_id: str | None = None,
        originating_ip: str | None = None,
        now: float | None = None,
    ) -> str:
        """Queue one platform email on behalf of `account_id`/`user_id`: free, never
        tracked, sent even if the account may not send itself. Returns the message id.
        Raises InvalidInput for a bad `to` (field "to")."""
        user = await account_store.get_user(conn, user_id)
        account = await account_store.get_account(conn, account_id)
        if user is None or account is None or user.account_id != account.id:
            raise NotFound(f"User {user_id} of account {account_id} does not exist.")
        # System mail is the platform's, not the account's: an inactive account still gets
        # its verification mail, and nothing is charged.
        principal = Principal(user=user, account=replace(account, active=True))
        sender = Mailbox((from_email or self.settings.system_email_from).strip(), from_name)
        email = Email(
            sender=sender,
            to=[mailbox(to, None, "to")],
            subject=subject,
            html=html,
            text=text,
            categories=tuple(categories),
            unique_args=dict(unique_args or {}),
            template_id=template_id,
            tracking=Tracking(),
        )
        queued = await queue_emails(
            conn,
            principal,
            [email],
            settings=self.settings,
            events=self.events,
            prices=None,
            api_key_id=api_key_id,
            originating_ip=originating_ip,
            now=now,
        )
        message_id = queued.emails[0].id
        assert message_id is not None
        return message_id

    async def suppressed(self, conn: AsyncConnection, account_id: int, address: str) -> bool:
        return bool(await suppressions.find(conn, account_id, [address]))
