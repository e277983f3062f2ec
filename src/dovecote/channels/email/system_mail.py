"""Dovecote's own mail (sender verification, one-time codes, export links), queued
through the email channel: the implementation of `pipeline.system_mail.SystemMail`.

This is the single place that decides whether an account may trigger system mail, so
every feature that mails on an account's request gets the same answers:

- an account that may not send is refused with the error ClickSend's `/v3/email/send`
  gives for that state: banned (403 ACCOUNT_BANNED), not active (403
  ACCOUNT_NOT_ACTIVATED), no credit — a balance of 0 — (400 INSUFFICIENT_CREDIT); the
  mail is free, but an account that cannot pay for mail gets none sent for it;
- past `system_mail_per_account_per_hour` emails in an hour the account gets
  RateLimited (429 with Retry-After).

Mail the platform sends on its own (`by_account=False`: the worker mailing an Email
Activity export link) is neither refused nor counted. Limits per recipient are the
feature's: sender verification (`system_mail_per_address_per_hour`, in
`addresses.send_verification`) and EmailVerify (`otp_sends_per_address_per_hour`).

Every system email is queued with `source = "system"` (`SYSTEM_SOURCE`): it is not
the customer's traffic, so ClickSend's email history and its export leave it out;
Email Activity, EmailVerify's events and the sandbox's list of captured mail show it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace

from limits import parse
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import RateLimiter, SlidingWindowCounterRateLimiter
from sqlalchemy.ext.asyncio import AsyncConnection

from dovecote.accounts import store as account_store
from dovecote.channels.email import suppressions
from dovecote.channels.email.compose import (
    Email,
    InsufficientCredit,
    Mailbox,
    Tracking,
    mailbox,
    queue_emails,
)
from dovecote.core.errors import Forbidden, NotFound, RateLimited
from dovecote.core.models import Account, Principal
from dovecote.pipeline import system_mail as port
from dovecote.pipeline.events import EventLog
from dovecote.settings import Settings
from dovecote.storage.tables import SYSTEM_SOURCE


class SystemMailer:
    def __init__(
        self, settings: Settings, events: EventLog, limiter: RateLimiter | None = None
    ) -> None:
        """`limiter`: the runtime's shared one (Redis when configured, so the per-account
        cap holds across processes); None keeps the counts in this process."""
        self.settings = settings
        self.events = events
        self.limiter = limiter or SlidingWindowCounterRateLimiter(MemoryStorage())

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
        by_account: bool = True,
    ) -> str:
        """Queue one platform email on behalf of `account_id`/`user_id`: free, never
        tracked, marked `source = "system"`. Returns the message id.

        With `by_account` (an account's request triggered it) the account must be able
        to send — see `refuse_unless_may_send` — and within its hourly cap, or nothing is
        queued. Raises InvalidInput for a bad `to` (field "to")."""
        user = await account_store.get_user(conn, user_id)
        account = await account_store.get_account(conn, account_id)
        if user is None or account is None or user.account_id != account.id:
            raise NotFound(f"User {user_id} of account {account_id} does not exist.")
        if by_account:
            refuse_unless_may_send(account)
            await hit(
                self.limiter,
                f"{self.settings.system_mail_per_account_per_hour}/hour",
                ("system-mail", str(account.id)),
                "Too many emails sent for this account - please try again later",
            )
        # Queued as an active account: the checks above are the ones that apply, and
        # the platform's own mail (an export link) reaches even an inactive account.
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
            source=SYSTEM_SOURCE,
        )
        message_id = queued.emails[0].id
        assert message_id is not None
        return message_id

    async def suppressed(self, conn: AsyncConnection, account_id: int, address: str) -> bool:
        return bool(await suppressions.find(conn, account_id, [address]))


def refuse_unless_may_send(account: Account) -> None:
    """Raise ClickSend's error for an account that may not send mail: banned, not
    active, or without credit (a balance of 0)."""
    if account.banned:
        raise Forbidden("This account has been banned.", code=port.ACCOUNT_BANNED)
    if not account.active:
        raise Forbidden("Account not activated.", code=port.ACCOUNT_NOT_ACTIVATED)
    if account.balance_micros <= 0:
        raise InsufficientCredit("Not enough credit to send email.", code=port.INSUFFICIENT_CREDIT)


async def hit(limiter: RateLimiter, limit: str, identifiers: tuple[str, ...], message: str) -> None:
    """Count one against `limit` for `identifiers`; RateLimited (with the seconds until
    the window lets one more through) when it is spent."""
    item = parse(limit)
    if not await limiter.hit(item, *identifiers):
        stats = await limiter.get_window_stats(item, *identifiers)
        retry_after = max(1, math.ceil(stats.reset_time - time.time()))
        raise RateLimited(message, retry_after=retry_after)
