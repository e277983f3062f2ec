"""The emails of the account lifecycle, and the port they are sent through.

`accounts` sits below the pipeline, so it names only what it needs — `AccountMail`, an
async callable that queues one email to a user — and the API layer adapts the
platform's `SystemMail` to it (in the sandbox, `GET /sandbox/email` shows the result).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncConnection

from dovecote.core.models import User


@dataclass(frozen=True, slots=True)
class Letter:
    to: str
    subject: str
    text: str

    @property
    def html(self) -> str:
        paragraphs = "".join(
            f"<p>{html.escape(block).replace(chr(10), '<br>')}</p>"
            for block in self.text.split("\n\n")
        )
        return f"<!doctype html><html><body>{paragraphs}</body></html>"


class AccountMail(Protocol):
    async def __call__(self, conn: AsyncConnection, user: User, letter: Letter) -> None: ...


def _link(base_url: str, path: str) -> str:
    return f"{base_url.rstrip('/')}{path}"


def activation(user: User, token: str, base_url: str, ttl: int) -> Letter:
    url = _link(base_url, f"/v3/account-verify/verify/{token}")
    return Letter(
        to=user.email,
        subject="Verify your Dovecote account",
        text=(
            f"Hello {user.first_name or user.username},\n\n"
            "Confirm this address to activate your account: PUT (not GET: a link "
            f"preview must not activate it) {url}\n\n"
            f"Activation token: {token}\n\n"
            f"The token works once, for {ttl // 3600 or 1} hour(s). "
            "If you did not sign up, ignore this email."
        ),
    )


def username_reminder(to: str, usernames: Sequence[str]) -> Letter:
    names = "\n".join(usernames)
    return Letter(
        to=to,
        subject="Your Dovecote username",
        text=(
            "Someone (hopefully you) asked for the usernames registered with this "
            f"address:\n\n{names}\n\nIf it was not you, ignore this email."
        ),
    )


def password_reset(user: User, token: str, ttl: int) -> Letter:
    return Letter(
        to=user.email,
        subject="Reset your Dovecote password",
        text=(
            f"Someone (hopefully you) asked to reset the password of {user.username}.\n\n"
            f"Subaccount id: {user.id}\nReset token: {token}\n\n"
            "Send both with your new password to PUT /v3/forgot-password/verify. "
            f"The token works once, for {max(1, ttl // 60)} minute(s). "
            "If it was not you, ignore this email: your password is unchanged."
        ),
    )
