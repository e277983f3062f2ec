"""Helpers for the email tests: the owner's ids, allowed addresses, rows read back, an SMTP peer.

Importable as `email_support` because pytest puts `tests/` (the conftest's folder) on sys.path.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import sqlalchemy as sa
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from dovecote.accounts import store as account_store
from dovecote.core.models import Principal
from dovecote.settings import Settings
from dovecote.storage.tables import email_addresses, events, messages, users

OWNER = "owner"


def engine_of(app: FastAPI) -> AsyncEngine:
    engine: AsyncEngine = app.state.runtime.engine
    return engine


async def owner_principal(engine: AsyncEngine, username: str = OWNER) -> Principal:
    async with engine.connect() as conn:
        user = await account_store.get_user_by_username(conn, username)
        assert user is not None
        account = await account_store.get_account(conn, user.account_id)
        assert account is not None
    return Principal(user=user, account=account)


async def add_address(
    engine: AsyncEngine, account_id: int, user_id: int, address: str, *, verified: bool = True
) -> int:
    """An allowed sender address row, as the address-verification flow leaves it."""
    async with engine.begin() as conn:
        result = await conn.execute(
            email_addresses.insert()
            .values(
                account_id=account_id,
                user_id=user_id,
                email=address,
                verified=verified,
                created_at=int(time.time()),
            )
            .returning(email_addresses.c.id)
        )
        return int(result.scalar_one())


async def select(engine: AsyncEngine, query: sa.Select[Any]) -> list[dict[str, Any]]:
    async with engine.connect() as conn:
        return [dict(row) for row in (await conn.execute(query)).mappings()]


async def email_rows(engine: AsyncEngine) -> list[dict[str, Any]]:
    query = sa.select(messages).where(messages.c.channel == "email").order_by(messages.c.id)
    return await select(engine, query)


async def email_events(engine: AsyncEngine, message_id: str | None = None) -> list[dict[str, Any]]:
    query = sa.select(events).where(events.c.channel == "email").order_by(events.c.id)
    if message_id is not None:
        query = query.where(events.c.message_id == message_id)
    return await select(engine, query)


async def balance(engine: AsyncEngine, username: str = OWNER) -> int:
    principal = await owner_principal(engine, username)
    return principal.account.balance_micros


async def user_id_of(engine: AsyncEngine, username: str) -> int:
    rows = await select(engine, sa.select(users.c.id).where(users.c.username == username))
    return int(rows[0]["id"])


def parse(raw: bytes) -> EmailMessage:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


# --- a real SMTP relay --------------------------------------------------------------


@dataclass
class Received:
    sender: str
    recipients: list[str]
    data: bytes


@dataclass
class Relay:
    """aiosmtpd on a free loopback port. `script` holds replies for the next DATA
    commands ("451 Try later"); when it is empty every message is accepted."""

    host: str = "127.0.0.1"
    port: int = 0
    received: list[Received] = field(default_factory=list)
    script: list[str] = field(default_factory=list)
    rcpt_replies: dict[str, str] = field(default_factory=dict)
    connections: int = 0

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        options: Sequence[str],
    ) -> str:
        reply = self.rcpt_replies.get(address)
        if reply is not None:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.script:
            return self.script.pop(0)
        content = envelope.original_content or b""
        self.received.append(
            Received(str(envelope.mail_from), list(envelope.rcpt_tos), bytes(content))
        )
        return "250 2.0.0 Ok: queued"

    async def handle_EHLO(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        hostname: str,
        responses: list[str],
    ) -> list[str]:
        self.connections += 1
        session.host_name = hostname
        return responses


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def smtp_relay(**controller_options: Any) -> Iterator[Relay]:
    """A relay in its own thread (aiosmtpd's Controller), stopped on exit."""
    relay = Relay(port=free_port())
    controller = Controller(relay, hostname=relay.host, port=relay.port, **controller_options)
    controller.start()
    try:
        yield relay
    finally:
        controller.stop()


async def until(predicate: Any, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.01)


def with_smtp(settings: Settings, relay: Relay, **changes: Any) -> Settings:
    """`settings` with email delivered for real through `relay` (plain SMTP on loopback)."""
    return settings.model_copy(
        update={
            "email_transport": "smtp",
            "smtp_host": relay.host,
            "smtp_port": relay.port,
            "smtp_tls": "none",
            **changes,
        }
    )
