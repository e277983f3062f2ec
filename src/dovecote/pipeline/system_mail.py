"""The port through which any feature mails on the platform's behalf.

Sender verification, one-time codes and CSV-download links are Dovecote's own mail. The
features that send it (EmailVerify, Email Activity, the email channel itself) depend on
this interface, not on the email channel's composition code; the wiring table supplies
the implementation (`dovecote.channels.email.system_mail.SystemMailer`).

The implementation is the one place that decides whether an account may trigger system
mail: mail an account's request causes (`by_account=True`) is refused for an account
that may not send, with one of `REFUSAL_CODES`, and counted against a per-account
hourly cap (RateLimited past it). Limits per recipient belong to the feature that knows
what the mail is (sender verification, EmailVerify codes).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final, Protocol

from sqlalchemy.ext.asyncio import AsyncConnection

# The DomainError codes `send` raises for an account that may not send: ClickSend's own
# (`/v3/email/send` answers them too); other families translate them.
ACCOUNT_NOT_ACTIVATED: Final = "ACCOUNT_NOT_ACTIVATED"
ACCOUNT_BANNED: Final = "ACCOUNT_BANNED"
INSUFFICIENT_CREDIT: Final = "INSUFFICIENT_CREDIT"
REFUSAL_CODES: Final = frozenset({ACCOUNT_NOT_ACTIVATED, ACCOUNT_BANNED, INSUFFICIENT_CREDIT})


class SystemMail(Protocol):
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
        """Queue one platform email in the caller's transaction; returns its message id.

        `by_account`: an account's request triggered it (sender verification, a one-time
        code): refused (a DomainError with a code in REFUSAL_CODES) when the account is
        not active, banned or without credit, and RateLimited past the account's hourly
        cap. False only for the platform's own mail (the worker mailing an export link),
        which is never refused."""
        ...

    async def suppressed(self, conn: AsyncConnection, account_id: int, address: str) -> bool:
        """Whether the account's suppression list holds `address` (bounced, unsubscribed)."""
        ...
