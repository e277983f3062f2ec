"""The port through which any feature mails on the platform's behalf.

Sender verification, one-time codes and CSV-download links are Dovecote's own mail. The
features that send it (EmailVerify, Email Activity, the email channel itself) depend on
this interface, not on the email channel's composition code; the wiring table supplies
the implementation (`dovecote.channels.email.system_mail.SystemMailer`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncConnection


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
    ) -> str:
        """Queue one platform email in the caller's transaction; returns its message id."""
        ...

    async def suppressed(self, conn: AsyncConnection, account_id: int, address: str) -> bool:
        """Whether the account's suppression list holds `address` (bounced, unsubscribed)."""
        ...
