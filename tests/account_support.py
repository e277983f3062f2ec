"""Helpers for the account-lifecycle tests: reading tokens from captured system mail.

Importable as `account_support` because pyproject's `pythonpath` puts `tests/` on sys.path.
"""

from __future__ import annotations

import re
from email import message_from_bytes
from email.message import Message

import httpx


def _text(message: Message) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            return payload.decode(part.get_content_charset() or "utf-8")
    raise AssertionError("no text part")


async def mailed_text(client: httpx.AsyncClient, to: str) -> str:
    """The plain text of the newest email the sandbox captured for `to`, as the caller sees it."""
    listing = await client.get("/sandbox/email", params={"to": to})
    assert listing.status_code == 200, listing.text
    emails = listing.json()["data"]["data"]
    assert emails, f"no email captured for {to}"
    raw = await client.get(emails[0]["_eml_url"])
    assert raw.status_code == 200
    return _text(message_from_bytes(raw.content))


def token_in(text: str, label: str) -> str:
    found = re.search(rf"{label}: (\S+)", text)
    assert found, text
    return found.group(1)
