"""The SMTP transport against a real relay (aiosmtpd on a loopback port), driven by the
dispatcher: what arrives, and exactly which events each relay answer produces."""

from __future__ import annotations

import asyncio
import ssl
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import trustme
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from dispatch_support import dispatcher as build_dispatcher
from dispatch_support import event_log
from dovecote.channels.email import compose as email_domain
from dovecote.channels.email.mime import Attachment, Mailbox
from dovecote.pipeline.transports.base import Transport
from dovecote.pipeline.transports.smtp import SmtpTransport, enhanced_status
from dovecote.settings import Settings
from dovecote.storage.tables import email_activity, suppressions
from email_support import (
    Relay,
    email_events,
    email_rows,
    engine_of,
    free_port,
    owner_principal,
    parse,
    select,
    smtp_relay,
)

SENDER = Mailbox("sender@example.com", "Zoë Ämsel")
PDF = bytes(range(256)) * 40  # every byte value, so any mangling shows


@pytest.fixture
def fast(settings: Settings) -> Settings:
    """Retries due almost at once (backoff base**attempts seconds), two attempts at most."""
    return settings.model_copy(update={"worker_backoff_base": 0.001, "worker_max_attempts": 2})


async def queue(
    app: FastAPI, settings: Settings, *, to: str = "rcpt@example.net", **draft: Any
) -> list[str]:
    engine = engine_of(app)
    principal = await owner_principal(engine)
    email = email_domain.Email(
        sender=SENDER,
        to=[Mailbox(to, "Rêcipient")],
        subject=draft.pop("subject", "Grüße from Dovecote"),
        html=draft.pop("html", "<p>Hello <b>world</b></p>"),
        **draft,
    )
    async with engine.begin() as conn:
        queued = await email_domain.queue_emails(
            conn, principal, [email], settings=settings, events=event_log(), prices=None
        )
    return queued.message_ids


def relay_transport(relay: Relay, **options: Any) -> SmtpTransport:
    return SmtpTransport(
        host=relay.host, port=relay.port, tls=options.pop("tls", "none"), **options
    )


async def dispatch(engine: AsyncEngine, settings: Settings, transport: Transport) -> int:
    dispatcher = build_dispatcher(engine, settings, {"email": transport, "default": transport})
    return await dispatcher.run_once()


async def types(engine: AsyncEngine, message_id: str) -> list[str]:
    return [event["type"] for event in await email_events(engine, message_id)]


async def test_accepted_mail_arrives_whole_with_both_parts_and_exact_attachments(
    app: FastAPI, fast: Settings
) -> None:
    inline = Attachment(b"\x89PNG\r\n\x1a\nfake", "logo.png", "image/png", "inline", "logo")
    report = Attachment(PDF, "Übersicht 2024.pdf", "application/pdf")
    ids = await queue(
        app,
        fast,
        html='<p>Hello <a href="https://example.org/x">there</a></p><img src="cid:logo">',
        cc=[Mailbox("copy@example.net", "Ça Va")],
        bcc=[Mailbox("hidden@example.net")],
        attachments=[inline, report],
    )
    engine = engine_of(app)
    with smtp_relay() as relay:
        assert await dispatch(engine, fast, relay_transport(relay)) == 3
    assert sorted(r for m in relay.received for r in m.recipients) == [
        "copy@example.net",
        "hidden@example.net",
        "rcpt@example.net",
    ]
    assert {m.sender for m in relay.received} == {"sender@example.com"}
    arrived = {m.recipients[0]: parse(m.data) for m in relay.received}
    mail = arrived["rcpt@example.net"]
    assert mail["Subject"] == "Grüße from Dovecote"
    assert mail["From"].addresses[0].display_name == "Zoë Ämsel"
    assert str(mail["To"]) == "Rêcipient <rcpt@example.net>"
    assert str(mail["Cc"]) == "Ça Va <copy@example.net>"
    assert mail["Bcc"] is None and b"hidden@example.net" not in relay.received[0].data
    assert mail["Message-ID"] == f"<{ids[0].lower()}@example.com>"
    # Encoded words and RFC 2231 on the wire, not raw UTF-8.
    raw = next(m.data for m in relay.received if m.recipients == ["rcpt@example.net"])
    assert raw.isascii()
    assert b"=?utf-8?" in raw and b"filename*=utf-8''%C3%9Cbersicht%202024.pdf" in raw
    plain = mail.get_body(("plain",))
    html = mail.get_body(("html",))
    assert plain is not None and html is not None
    assert plain.get_content().strip() == "Hello there (https://example.org/x)"
    assert 'href="https://example.org/x"' in html.get_content()
    parts = {part.get_filename(): part for part in mail.walk() if part.get_filename()}
    assert parts["Übersicht 2024.pdf"].get_content() == PDF
    assert parts["Übersicht 2024.pdf"].get_content_disposition() == "attachment"
    assert parts["logo.png"].get_content() == inline.content
    assert parts["logo.png"]["Content-ID"] == "<logo>"
    assert parts["logo.png"].get_content_disposition() == "inline"
    # Each recipient's copy has its own Message-ID.
    assert len({m["Message-ID"] for m in arrived.values()}) == 3

    for message_id in ids:
        assert await types(engine, message_id) == ["processed", "delivered"]
    delivered = (await email_events(engine, ids[0]))[1]["data"]
    assert delivered["mx_server"] == f"127.0.0.1:{relay.port}"
    assert delivered["attempt_num"] == 1
    assert delivered["response"].startswith("250")
    statuses = await select(engine, sa.select(email_activity.c.status))
    assert [s["status"] for s in statuses] == ["delivered"] * 3


async def test_a_4xx_is_deferred_then_delivered_on_the_retry(app: FastAPI, fast: Settings) -> None:
    [message_id] = await queue(app, fast)
    engine = engine_of(app)
    with smtp_relay() as relay:
        relay.script = ["451 4.3.0 Try again later"]
        transport = relay_transport(relay)
        await dispatch(engine, fast, transport)
        [row] = await email_rows(engine)
        assert row["status"] == "queued" and row["attempts"] == 1
        await asyncio.sleep(0.01)
        await dispatch(engine, fast, transport)
    assert await types(engine, message_id) == ["processed", "deferred", "delivered"]
    deferred, delivered = (await email_events(engine, message_id))[1:]
    assert deferred["data"] == {"attempt_num": 1, "reason": "451 4.3.0 Try again later"}
    assert delivered["data"]["attempt_num"] == 2
    assert len(relay.received) == 1
    [activity] = await select(engine, sa.select(email_activity))
    assert activity["status"] == "delivered"


async def test_a_5xx_is_a_hard_bounce_that_suppresses_the_address(
    app: FastAPI, fast: Settings
) -> None:
    [message_id] = await queue(app, fast, to="Gone@Example.net")
    engine = engine_of(app)
    with smtp_relay() as relay:
        relay.script = ["550 5.1.1 No such user here"]
        await dispatch(engine, fast, relay_transport(relay))
        assert relay.received == []
        assert await types(engine, message_id) == ["processed", "bounce"]
        bounce = (await email_events(engine, message_id))[1]["data"]
        assert bounce["bounce_type"] == "bounce"
        assert bounce["reason"] == "550 5.1.1 No such user here"
        assert bounce["status"] == "5.1.1"
        assert bounce["attempt_num"] == 1
        [row] = await email_rows(engine)
        assert row["status"] == "failed" and row["due_at"] is None
        [activity] = await select(engine, sa.select(email_activity))
        assert activity["status"] == "not_delivered"
        [suppressed] = await select(engine, sa.select(suppressions))
        assert (suppressed["email"], suppressed["reason"]) == ("gone@example.net", "bounce")

        # The next email to that address is dropped: no send, no charge, no retry.
        [again] = await queue(app, fast, to="gone@example.net")
        assert await types(engine, again) == ["processed", "dropped"]
        assert (await email_events(engine, again))[1]["data"]["reason"] == "Bounced Address"
        assert await dispatch(engine, fast, relay_transport(relay)) == 0
        assert relay.received == []


async def test_a_refused_connection_is_deferred_and_soft_bounces_after_the_last_attempt(
    app: FastAPI, fast: Settings
) -> None:
    [message_id] = await queue(app, fast)
    engine = engine_of(app)
    nobody = SmtpTransport(host="127.0.0.1", port=free_port(), tls="none", timeout=2)
    await dispatch(engine, fast, nobody)
    await asyncio.sleep(0.01)
    await dispatch(engine, fast, nobody)
    assert await types(engine, message_id) == ["processed", "deferred", "bounce"]
    deferred, bounce = (await email_events(engine, message_id))[1:]
    assert deferred["data"]["attempt_num"] == 1
    assert deferred["data"]["reason"].startswith("connection failed")
    assert bounce["data"]["bounce_type"] == "blocked"
    assert bounce["data"]["attempt_num"] == 2
    assert await select(engine, sa.select(suppressions)) == []  # a soft bounce never suppresses


async def test_one_connection_carries_a_whole_batch(app: FastAPI, fast: Settings) -> None:
    for n in range(5):
        await queue(app, fast, to=f"r{n}@example.net")
    engine = engine_of(app)
    with smtp_relay() as relay:
        await dispatch(engine, fast, relay_transport(relay, connections=1))
    assert len(relay.received) == 5
    assert relay.connections == 1


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[ssl.SSLContext, Path]:
    ca = trustme.CA()
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(server)
    path = tmp_path_factory.mktemp("tls") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return server, path


async def test_starttls_with_a_trusted_test_certificate_delivers(
    app: FastAPI, fast: Settings, tls_files: tuple[ssl.SSLContext, Path]
) -> None:
    server_context, ca_file = tls_files
    [message_id] = await queue(app, fast)
    engine = engine_of(app)
    with smtp_relay(tls_context=server_context, require_starttls=True) as relay:
        transport = relay_transport(relay, tls="starttls", ca_file=str(ca_file))
        await dispatch(engine, fast, transport)
    assert len(relay.received) == 1
    assert await types(engine, message_id) == ["processed", "delivered"]


async def test_starttls_refuses_an_untrusted_certificate(
    app: FastAPI, fast: Settings, tls_files: tuple[ssl.SSLContext, Path]
) -> None:
    server_context, _ = tls_files
    [message_id] = await queue(app, fast)
    engine = engine_of(app)
    with smtp_relay(tls_context=server_context, require_starttls=True) as relay:
        await dispatch(engine, fast, relay_transport(relay, tls="starttls"))
    assert relay.received == []  # never sent in the clear, never to an unverified peer
    assert await types(engine, message_id) == ["processed", "deferred"]


def test_enhanced_status_codes_are_read_from_the_reply_text() -> None:
    assert enhanced_status("5.1.1 User unknown") == "5.1.1"
    assert enhanced_status("User unknown") is None
    assert enhanced_status("1.2.3 nope") is None
