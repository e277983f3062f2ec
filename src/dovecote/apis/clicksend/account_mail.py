"""What the unauthenticated account routes share: their mail, and their rate limits."""

from __future__ import annotations

import hashlib
import math
import time

from fastapi import Request
from limits import parse
from sqlalchemy.ext.asyncio import AsyncConnection

from dovecote.accounts.letters import AccountMail, Letter
from dovecote.accounts.recovery import Allow
from dovecote.apis.deps import client_ip
from dovecote.core.errors import RateLimited
from dovecote.core.models import User
from dovecote.runtime import Runtime


def account_mail(runtime: Runtime) -> AccountMail:
    """The lifecycle's emails as platform mail: free, and sent even for an account that
    is not active yet (activating it is what they are for)."""

    async def send(conn: AsyncConnection, user: User, letter: Letter) -> None:
        await runtime.system_mail.send(
            conn,
            account_id=user.account_id,
            user_id=user.id,
            to=letter.to,
            subject=letter.subject,
            html=letter.html,
            text=letter.text,
            categories=("account",),
            by_account=False,
        )

    return send


async def limit_client(request: Request, runtime: Runtime, rate: str, scope: str) -> None:
    """Count one request of `scope` against `rate` for the client's address."""
    await limit(runtime, rate, (scope, client_ip(request) or "unknown"))


async def limit(runtime: Runtime, rate: str, identifiers: tuple[str, ...]) -> None:
    """Count one against `rate` for `identifiers`; RateLimited once it is spent."""
    item = parse(rate)
    if not await runtime.limiter.hit(item, *identifiers):
        stats = await runtime.limiter.get_window_stats(item, *identifiers)
        retry_after = max(1, math.ceil(stats.reset_time - time.time()))
        raise RateLimited("Too many requests; please try again later.", retry_after=retry_after)


def mail_allowance(runtime: Runtime) -> Allow:
    """Whether one more recovery email may go to an address this hour (silently no)."""
    item = parse(f"{runtime.settings.recovery_mails_per_address_per_hour}/hour")

    async def allow(address: str) -> bool:
        # Hashed: limiter keys (in Redis too) hold no addresses.
        key = hashlib.sha256(address.lower().encode()).hexdigest()
        return await runtime.limiter.hit(item, "recovery-mail", key)

    return allow
