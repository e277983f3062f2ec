"""Email-to-SMS end to end: a real SMTP client (aiosmtplib) against the listener on
loopback, the SMS read back through the ClickSend API."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from decimal import Decimal
from email.message import EmailMessage

import aiosmtplib
import httpx
import pytest
from fastapi import FastAPI

from dovecote.app import create_app
from dovecote.settings import Settings
from sms_support import as_caller, other_account

DOMAIN = "sms.test"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
async def smtp_app(settings: Settings) -> AsyncIterator[tuple[FastAPI, int]]:
    port = free_port()
    configured = settings.model_copy(
        update={"email_sms_smtp_port": port, "email_sms_domain": DOMAIN}
    )
    application = create_app(configured)
    async with application.router.lifespan_context(application):
        yield application, port


@pytest.fixture
async def owner(
    smtp_app: tuple[FastAPI, int], settings: Settings
) -> AsyncIterator[httpx.AsyncClient]:
    app, _ = smtp_app
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://testserver",
        auth=(settings.owner_username or "", settings.owner_api_key or ""),
    ) as http:
        yield http


def email(sender: str, to: list[str], text: str) -> EmailMessage:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, ", ".join(to), "ignored"
    message.set_content(text)
    return message


async def mail(port: int, sender: str, to: list[str], text: str) -> tuple[dict[str, object], str]:
    errors, reply = await aiosmtplib.send(
        email(sender, to, text), hostname="127.0.0.1", port=port, sender=sender, recipients=to
    )
    return dict(errors), reply


async def sent_sms(client: httpx.AsyncClient) -> list[dict[str, object]]:
    response = await client.get("/v3/sms/history", params={"limit": 100})
    assert response.status_code == 200, response.text
    rows: list[dict[str, object]] = response.json()["data"]["data"]
    return rows


async def balance(client: httpx.AsyncClient) -> Decimal:
    return Decimal((await client.get("/v3/account")).json()["data"]["balance"])


async def test_mail_from_an_allowed_address_is_sent_as_sms_from_its_sender_id(
    smtp_app: tuple[FastAPI, int], owner: httpx.AsyncClient
) -> None:
    _, port = smtp_app
    await owner.post(
        "/v3/sms/email-sms", json={"email_address": "ops@example.com", "from": "Alerts"}
    )
    await owner.post("/v3/sms/email-sms-stripped-strings", json={"strip_string": "[EXTERNAL] "})
    before = await balance(owner)

    errors, reply = await mail(
        port,
        "Ops@Example.com",
        [f"+12025550199@{DOMAIN}", f"12025550198@{DOMAIN.upper()}"],
        "[EXTERNAL] Disk full on db-1\n-- \nOps team, 555-0100\n",
    )

    assert errors == {}
    assert reply == "2.0.0 2 SMS queued"
    sms = await sent_sms(owner)
    assert sorted(str(s["to"]) for s in sms) == ["+12025550198", "+12025550199"]
    assert {(s["body"], s["from"]) for s in sms} == {("Disk full on db-1", "Alerts")}
    assert await balance(owner) == before - Decimal("0.058")  # two US parts at 0.029


async def test_a_domain_wide_entry_allows_every_address_of_the_domain(
    smtp_app: tuple[FastAPI, int], owner: httpx.AsyncClient
) -> None:
    _, port = smtp_app
    await owner.post("/v3/sms/email-sms", json={"email_address": "*@example.com"})

    errors, _ = await mail(port, "anyone@example.com", [f"12025550199@{DOMAIN}"], "Hello")

    assert errors == {}
    assert [s["from"] for s in await sent_sms(owner)] == [""]


async def test_an_unknown_sender_is_refused_with_550_and_nothing_is_sent(
    smtp_app: tuple[FastAPI, int], owner: httpx.AsyncClient
) -> None:
    _, port = smtp_app
    await owner.post("/v3/sms/email-sms", json={"email_address": "ops@example.com"})

    with pytest.raises(aiosmtplib.SMTPSenderRefused) as refused:
        await mail(port, "intruder@example.com", [f"12025550199@{DOMAIN}"], "Hello")

    assert refused.value.code == 550
    assert await sent_sms(owner) == []


async def test_recipients_outside_the_domain_or_not_numbers_are_refused(
    smtp_app: tuple[FastAPI, int], owner: httpx.AsyncClient
) -> None:
    _, port = smtp_app
    await owner.post("/v3/sms/email-sms", json={"email_address": "ops@example.com"})

    with pytest.raises(aiosmtplib.SMTPRecipientsRefused) as relay:
        await mail(port, "ops@example.com", ["12025550199@elsewhere.com"], "Hello")
    with pytest.raises(aiosmtplib.SMTPRecipientsRefused) as name:
        await mail(port, "ops@example.com", [f"bob@{DOMAIN}"], "Hello")

    assert [r.code for r in relay.value.recipients] == [550]
    assert [r.code for r in name.value.recipients] == [553]
    assert await sent_sms(owner) == []


async def test_when_credit_runs_out_the_answer_is_452_and_no_recipient_gets_it(
    smtp_app: tuple[FastAPI, int], settings: Settings
) -> None:
    app, port = smtp_app
    from dovecote.accounts import service as accounts

    async with app.state.runtime.engine.begin() as conn:
        poor = await accounts.create_account(conn, username="poor", balance_micros=40_000)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://testserver",
        auth=("poor", poor.api_key),
    ) as theirs:
        await theirs.post("/v3/sms/email-sms", json={"email_address": "poor@example.com"})

        # One SMS (0.029) fits in 0.04, two do not: the message goes to both or neither.
        with pytest.raises(aiosmtplib.SMTPDataError) as short:
            await mail(
                port, "poor@example.com", [f"12025550199@{DOMAIN}", f"12025550198@{DOMAIN}"], "Hi"
            )

        assert short.value.code == 452
        assert await sent_sms(theirs) == []
        assert await balance(theirs) == Decimal("0.04")
        errors, _ = await mail(port, "poor@example.com", [f"12025550199@{DOMAIN}"], "Hi")
        assert errors == {}
        assert len(await sent_sms(theirs)) == 1


async def test_an_empty_text_or_a_refused_sender_id_sends_nothing(
    smtp_app: tuple[FastAPI, int], owner: httpx.AsyncClient, settings: Settings
) -> None:
    app, port = smtp_app
    await owner.post(
        "/v3/sms/email-sms", json={"email_address": "ops@example.com", "from": "Alerts"}
    )

    with pytest.raises(aiosmtplib.SMTPDataError) as empty:
        await mail(port, "ops@example.com", [f"12025550199@{DOMAIN}"], "-- \nsignature only")
    from dovecote import account_options

    async with app.state.runtime.engine.begin() as conn:
        await account_options.set_options(
            conn, settings.owner_username or "", {"sms_require_known_sender": True}, settings
        )
    with pytest.raises(aiosmtplib.SMTPDataError) as unknown:
        await mail(port, "ops@example.com", [f"12025550199@{DOMAIN}"], "Hello")

    assert (empty.value.code, unknown.value.code) == (554, 550)
    assert await sent_sms(owner) == []


async def test_another_accounts_allowed_address_sends_for_that_account_only(
    smtp_app: tuple[FastAPI, int], owner: httpx.AsyncClient
) -> None:
    app, port = smtp_app
    stranger = await other_account(app.state.runtime.engine)
    async with as_caller(app, stranger) as theirs:
        await theirs.post("/v3/sms/email-sms", json={"email_address": "them@example.net"})

        errors, _ = await mail(port, "them@example.net", [f"12025550199@{DOMAIN}"], "Theirs")

        assert errors == {}
        assert [s["body"] for s in await sent_sms(theirs)] == ["Theirs"]
    assert await sent_sms(owner) == []
