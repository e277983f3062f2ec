"""Helpers for the EmailVerify tests: deliver queued mail, read the code out of an email.

Importable as `emailverify_support` because pyproject's `pythonpath` puts `tests/` on sys.path.
"""

from __future__ import annotations

import email
import email.policy
import re
from collections.abc import Sequence
from email.message import EmailMessage
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from dovecote.storage.tables import email_verifications, events, message_content

CODE = re.compile(r"verification code is:\s*(\d{4,10})\b")


def parse(raw: bytes) -> EmailMessage:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def parts(message: EmailMessage) -> dict[str, str]:
    """content type → decoded text of each text part."""
    found: dict[str, str] = {}
    for part in message.walk():
        if part.get_content_maintype() == "text" and isinstance(part, EmailMessage):
            found[part.get_content_type()] = str(part.get_content())
    return found


def code_in(raw: bytes) -> str:
    """The code as a reader sees it: from the plain-text part, checked against the HTML."""
    texts = parts(parse(raw))
    match = CODE.search(texts["text/plain"])
    assert match is not None, texts["text/plain"]
    code = match.group(1)
    assert code in texts["text/html"]
    return code


async def verification(conn: AsyncConnection, account_id: int, address: str) -> Any:
    query = sa.select(email_verifications).where(
        email_verifications.c.account_id == account_id,
        email_verifications.c.email == address.lower(),
    )
    return (await conn.execute(query)).mappings().one_or_none()


async def content(conn: AsyncConnection, message_id: str) -> bytes:
    query = sa.select(message_content.c.content).where(message_content.c.message_id == message_id)
    return bytes((await conn.execute(query)).scalar_one())


async def sent_code(engine: AsyncEngine, account_id: int, address: str) -> str:
    """The code in the email that carries the address's live code (the captured MIME)."""
    async with engine.connect() as conn:
        row = await verification(conn, account_id, address)
        assert row is not None
        return code_in(await content(conn, row["message_id"]))


async def verify_events(conn: AsyncConnection, account_id: int) -> Sequence[Any]:
    query = (
        sa.select(events)
        .where(events.c.account_id == account_id, events.c.channel == "verify")
        .order_by(events.c.id)
    )
    return (await conn.execute(query)).mappings().all()
