"""SendGrid `POST /v3/mail/send`: the official client, the built messages, Email Activity,
delivery (sandbox and a real SMTP relay), schedules, and refusals that queue nothing."""

from __future__ import annotations

import base64
import json
import time
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
import sendgrid
import sqlalchemy as sa
from fastapi import FastAPI
from python_http_client.exceptions import (
    BadRequestsError,
    ForbiddenError,
)
from sendgrid.helpers.mail import (
    Attachment,
    Category,
    Cc,
    ClickTracking,
    CustomArg,
    Disposition,
    FileContent,
    FileName,
    FileType,
    From,
    Mail,
    OpenTracking,
    Personalization,
    SendAt,
    TemplateId,
    To,
    TrackingSettings,
)
from sqlalchemy.ext.asyncio import AsyncEngine

from dispatch_support import deliver
from dovecote.activity.key_ids import public_key_id
from dovecote.channels.email import templates as email_templates
from dovecote.pipeline import dispatcher as dispatcher_module
from dovecote.settings import Settings
from dovecote.storage import tables
from email_support import (
    balance,
    email_events,
    email_rows,
    engine_of,
    owner_principal,
    parse,
    select,
    smtp_relay,
    until,
    with_smtp,
)
from sendgrid_support import SENDER, bearer, verified_sender, with_engine

PDF = b"%PDF-1.4 not really a pdf \x00\xff"
PNG = b"\x89PNG\r\n\x1a\n tiny"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # SendGrid's 6/minute on Email Activity would stop these tests reading it back.
    return settings.model_copy(update={"activity_rate_limit": "10000/second"})


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def mail(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "personalizations": [{"to": [{"email": "ann@example.net", "name": "Ann"}]}],
        "from": {"email": SENDER, "name": "Shop News"},
        "subject": "Spring sale",
        "content": [
            {"type": "text/plain", "value": "Hello"},
            {"type": "text/html", "value": "<p>Hello</p>"},
        ],
    }
    body.update(changes)
    return body


async def post(http: httpx.AsyncClient, settings: Settings, body: Any) -> httpx.Response:
    return await http.post("/v3/mail/send", json=body, headers=bearer(settings))


async def content_of(engine: AsyncEngine, message_id: str) -> bytes:
    query = sa.select(tables.message_content.c.content).where(
        tables.message_content.c.message_id == message_id
    )
    [row] = await select(engine, query)
    return bytes(row["content"])


async def owner_key_id(engine: AsyncEngine) -> str:
    me = await owner_principal(engine)
    query = sa.select(tables.api_keys.c.id).where(tables.api_keys.c.user_id == me.user.id)
    [row] = await select(engine, query)
    return str(row["id"])


async def set_account(engine: AsyncEngine, **values: Any) -> None:
    me = await owner_principal(engine)
    async with engine.begin() as conn:
        await conn.execute(
            sa.update(tables.accounts).where(tables.accounts.c.id == me.account.id).values(**values)
        )


# --- the official client --------------------------------------------------------------------


def test_the_official_client_sends_mail_that_activity_finds_and_the_sandbox_delivers(
    live_server: Any, settings: Settings
) -> None:
    with_engine(settings, verified_sender)
    message = Mail(
        from_email=From("News@Example.com", "Shop News"),
        subject="Spring sale",
        plain_text_content="Hello",
        html_content='<p>Hello, <a href="https://example.com/sale">the sale</a></p>',
    )
    ann = Personalization()
    ann.add_to(To("ann@example.net", "Ann"))
    ann.add_cc(Cc("bob@example.net"))
    ann.add_custom_arg(CustomArg("user", "42"))
    ann.subject = "Spring sale, Ann"
    cat = Personalization()
    cat.add_to(To("cat@example.net"))
    message.add_personalization(cat)
    message.add_personalization(ann)  # the helper inserts at the front: ann is first
    message.category = [Category("newsletter"), Category("spring")]
    message.custom_arg = CustomArg("campaign", "spring-24")
    message.template_id = TemplateId("tpl-spring")
    message.send_at = SendAt(int(time.time()) - 5)  # the past: send now
    message.attachment = Attachment(
        FileContent(b64(PDF)),
        FileName("terms.pdf"),
        FileType("application/pdf"),
        Disposition("attachment"),
    )
    message.tracking_settings = TrackingSettings(ClickTracking(True, False), OpenTracking(True))
    sg = sendgrid.SendGridAPIClient(api_key=settings.owner_api_key, host=live_server.url)

    response = sg.send(message)

    assert response.status_code == 202
    assert response.body == b""
    msg_id = response.headers["X-Message-Id"]
    key_id = public_key_id(with_engine(settings, owner_key_id))  # as Email Activity names it

    def search(query: str) -> set[str]:
        found = sg.client.messages.get(query_params={"query": query, "limit": 100})
        return {m["to_email"] for m in json.loads(found.body)["messages"]}

    everyone = {"ann@example.net", "bob@example.net", "cat@example.net"}
    assert search('Contains(categories, "newsletter")') == everyone
    assert search("unique_args['campaign']=\"spring-24\"") == everyone
    assert search("unique_args['user']=\"42\"") == {"ann@example.net", "bob@example.net"}
    assert search(f'template_id="tpl-spring" AND api_key_id="{key_id}"') == everyone
    assert search('subject="Spring sale"') == {"cat@example.net"}
    detail = json.loads(sg.client.messages._(msg_id).get().body)
    assert detail["to_email"] == "ann@example.net"
    assert detail["from_email"] == SENDER  # the verified address, as it was verified
    assert detail["status"] == "processed"
    assert sorted(detail["categories"]) == ["newsletter", "spring"]
    assert json.loads(detail["unique_args"]) == {"campaign": "spring-24", "user": "42"}
    assert (detail["originating_ip"], detail["api_key_id"]) == ("127.0.0.1", key_id)

    assert with_engine(settings, lambda engine: deliver(engine, settings)) == 3
    detail = json.loads(sg.client.messages._(msg_id).get().body)
    assert detail["status"] == "delivered"
    assert [e["event_name"] for e in detail["events"]] == ["processed", "delivered"]


def test_the_official_client_sees_sendgrid_errors(live_server: Any, settings: Settings) -> None:
    with_engine(settings, verified_sender)
    sg = sendgrid.SendGridAPIClient(api_key=settings.owner_api_key, host=live_server.url)

    with pytest.raises(BadRequestsError) as bad:
        sg.send(
            Mail(from_email=SENDER, to_emails="ann@localhost", subject="x", plain_text_content="x")
        )
    with pytest.raises(ForbiddenError) as forbidden:
        sg.send(
            Mail(
                from_email="else@example.com",
                to_emails="a@example.net",
                subject="x",
                plain_text_content="x",
            )
        )

    assert json.loads(bad.value.body)["errors"] == [
        {"field": "personalizations.0.to.0.email", "message": "Does not contain a valid address."}
    ]
    [error] = json.loads(forbidden.value.body)["errors"]
    assert error["field"] == "from"
    assert error["message"].startswith("The from address does not match a verified Sender Identity")


# --- what is queued and built ----------------------------------------------------------------


async def test_each_personalization_is_one_email_with_its_own_subject_args_and_headers(
    anon: httpx.AsyncClient, app: FastAPI, settings: Settings
) -> None:
    engine = engine_of(app)
    address_id = await verified_sender(engine)
    before = await balance(engine)
    body = mail(
        personalizations=[
            {
                "to": [{"email": "ann@example.net", "name": "Ann Example"}],
                "cc": [{"email": "bob@example.net"}],
                "bcc": [{"email": "boss@example.org"}],
                "subject": "For -name-",
                "substitutions": {"-name-": "Ann"},
                "custom_args": {"user": "42", "campaign": "ann-only"},
                "headers": {"X-Priority-Tag": "vip"},
            },
            {"to": [{"email": "cat@example.net"}]},
        ],
        reply_to={"email": "help@example.com", "name": "Help Desk"},
        headers={"X-Campaign": "spring", "x-priority-tag": "normal"},
        custom_args={"campaign": "spring"},
        categories=["newsletter"],
        content=[
            {"type": "text/plain", "value": "Hello -name-"},
            {"type": "text/html", "value": '<p>Hi -name-</p><img src="cid:logo">'},
            {"type": "text/calendar", "value": "BEGIN:VCALENDAR"},
        ],
        attachments=[
            {"content": b64(PDF), "filename": "terms.pdf", "type": "application/pdf"},
            {
                "content": b64(PNG),
                "filename": "logo.png",
                "type": "image/png",
                "disposition": "inline",
                "content_id": "logo",
            },
        ],
        tracking_settings={"open_tracking": {"enable": True}, "click_tracking": {"enable": False}},
    )

    response = await post(anon, settings, body)

    assert response.status_code == 202, response.text
    assert response.content == b""
    rows = {row["recipient"]: row for row in await email_rows(engine)}
    assert set(rows) == {
        "ann@example.net",
        "bob@example.net",
        "boss@example.org",
        "cat@example.net",
    }
    assert response.headers["X-Message-Id"] == rows["ann@example.net"]["id"]
    assert all(row["sender"] == SENDER and row["status"] == "queued" for row in rows.values())
    assert await balance(engine) == before - 4 * 1_000  # the email price, per recipient
    events = {e["message_id"]: e["data"] for e in await email_events(engine)}
    ann, cat = events[rows["ann@example.net"]["id"]], events[rows["cat@example.net"]["id"]]
    assert ann["subject"] == "For Ann" and cat["subject"] == "Spring sale"
    assert ann["unique_args"] == {"campaign": "ann-only", "user": "42"}
    assert cat["unique_args"] == {"campaign": "spring"}
    assert ann["categories"] == cat["categories"] == ["newsletter"]

    mime = parse(await content_of(engine, rows["ann@example.net"]["id"]))
    assert mime["From"] == "Shop News <news@example.com>"
    assert mime["To"] == "Ann Example <ann@example.net>"
    assert mime["Cc"] == "bob@example.net"
    assert mime["Bcc"] is None
    assert mime["Reply-To"] == "Help Desk <help@example.com>"
    assert mime["Subject"] == "For Ann"
    assert mime["X-Message-Id"] == rows["ann@example.net"]["id"]
    assert (mime["X-Campaign"], mime["X-Priority-Tag"]) == ("spring", "vip")
    plain = mime.get_body(("plain",))
    html = mime.get_body(("html",))
    assert plain is not None and plain.get_content() == "Hello Ann"
    assert html is not None and "<p>Hi Ann</p>" in html.get_content()
    assert f"/t/open/{rows['ann@example.net']['id']}.gif" in html.get_content()
    files = {part.get_filename(): part for part in mime.iter_attachments()}
    assert files["terms.pdf"].get_content() == PDF
    assert "text/calendar" not in {part.get_content_type() for part in mime.walk()}
    inline = next(p for p in mime.walk() if p.get_content_type() == "image/png")
    assert (inline["Content-ID"], inline.get_content()) == ("<logo>", PNG)
    cats_mime = parse(await content_of(engine, rows["cat@example.net"]["id"]))
    assert cats_mime["Subject"] == "Spring sale"
    assert cats_mime["X-Priority-Tag"] == "normal"
    plain = cats_mime.get_body(("plain",))
    assert plain is not None and plain.get_content() == "Hello -name-"
    payload = await select(engine, sa.select(tables.message_payloads))
    assert {p["payload"].get("from_email_address_id") for p in payload} >= {address_id}


async def test_a_template_supplies_the_body_and_dynamic_data_fills_it(
    anon: httpx.AsyncClient, app: FastAPI, settings: Settings
) -> None:
    engine = engine_of(app)
    await verified_sender(engine)
    me = await owner_principal(engine)
    async with engine.begin() as conn:
        template = await email_templates.create_template(
            conn,
            me,
            name="Welcome",
            body="<p>Hi {{first_name}}, your plan: {{plan.name}}{{missing}}.</p>",
        )
    data = {"first_name": "<Ann>", "plan": {"name": "Pro"}}
    body = mail(
        personalizations=[{"to": [{"email": "ann@example.net"}], "dynamic_template_data": data}],
        subject="Welcome, {{first_name}}",
        template_id=str(template.id),
    )
    del body["content"]

    response = await post(anon, settings, body)
    unknown = await post(anon, settings, {**body, "template_id": "d-2c214ac919e84170b21855cc1"})

    assert response.status_code == 202, response.text
    mime = parse(await content_of(engine, response.headers["X-Message-Id"]))
    assert mime["Subject"] == "Welcome, <Ann>"
    html = mime.get_body(("html",))
    assert html is not None
    assert "<p>Hi &lt;Ann&gt;, your plan: Pro.</p>" in html.get_content()
    assert unknown.status_code == 400
    assert unknown.json()["errors"][0]["field"] == "template_id"
    assert len(await email_rows(engine)) == 1


# --- refusals ---------------------------------------------------------------------------------


def _many(count: int) -> list[dict[str, Any]]:
    return [{"to": [{"email": f"r{i}@example.net"}]} for i in range(count)]


BAD_REQUESTS: list[tuple[str, Any, str | None, str]] = [
    ("no personalizations", mail(personalizations=[]), "personalizations", "at least one"),
    ("personalizations missing", {**mail(), "personalizations": None}, "personalizations", "at least one"),
    ("1001 personalizations", mail(personalizations=_many(1001)), "personalizations", "You have provided 1001"),
    ("missing to", mail(personalizations=[{"cc": [{"email": "a@example.net"}]}]), "personalizations.0.to", "The to array is required"),
    ("invalid to", mail(personalizations=[{"to": [{"email": "a@example.net"}, {"email": "nope"}]}]), "personalizations.0.to.1.email", "Does not contain a valid address."),
    ("to without email", mail(personalizations=[{"to": [{"name": "Ann"}]}]), "personalizations.0.to.0.email", "must at least have an email"),
    ("duplicate recipient", mail(personalizations=[{"to": [{"email": "a@example.net"}], "bcc": [{"email": "A@example.net"}]}]), "personalizations.0", "unique between to, cc, and bcc"),
    ("bad base64", mail(attachments=[{"content": "not base64!", "filename": "a.txt"}]), "attachments.0.content", "must be base64 encoded"),
    ("no filename", mail(attachments=[{"content": b64(b"x")}]), "attachments.0.filename", "filename is required"),
    ("11 categories", mail(categories=[f"c{i}" for i in range(11)]), "categories", "limit of 10 categories"),
    ("long category", mail(categories=["x" * 256]), "categories", "longer than 255"),
    ("missing content", {k: v for k, v in mail().items() if k != "content"}, "content", "content parameter is required"),
    ("empty content value", mail(content=[{"type": "text/plain", "value": ""}]), "content.0.value", "at least one character"),
    ("html before plain", mail(content=[{"type": "text/html", "value": "<p>x</p>"}, {"type": "text/plain", "value": "x"}]), "content", "text/plain needs to be first"),
    ("missing subject", {k: v for k, v in mail().items() if k != "subject"}, "subject", "The subject is required"),
    ("missing from", {k: v for k, v in mail().items() if k != "from"}, "from", "must be provided"),
    ("invalid from", mail(**{"from": {"email": "news@"}}), "from.email", "Does not contain a valid address."),
    ("send_at beyond 72 hours", mail(send_at=int(time.time()) + 73 * 3600), "send_at", "72 hours"),
    ("reserved header", mail(headers={"Subject": "sneaky"}), "headers", "reserved"),
    ("numeric custom arg", mail(custom_args={"n": 1}), "custom_args.n", "Invalid type. Expected: string, given: integer."),
    ("subject of wrong type", mail(subject=42), "subject", "Invalid type. Expected: string, given: integer."),
    ("tracking not boolean", mail(tracking_settings={"open_tracking": {"enable": "yes"}}), "tracking_settings.open_tracking.enable", "Expected: boolean"),
    ("asm group not integer", mail(asm={"group_id": "abc"}), "asm.group_id", "Expected: integer"),
    ("asm group past int32", mail(asm={"group_id": 2**31}), "asm.group_id", "positive integer up to 2147483647"),
    ("asm group past int64", mail(asm={"group_id": 2**63}), "asm.group_id", "positive integer up to 2147483647"),
    ("body not an object", [mail()], "", "Expected: object, given: array."),
    # NUL is refused at the door for every API (apis/limits.py), before fields are known.
    ("NUL in the subject", mail(subject="a\x00b"), None, "NUL character"),
    ("NUL in a template value", mail(personalizations=[{"to": [{"email": "a@example.net"}], "dynamic_template_data": {"x": ["\x00"]}}]), None, "NUL character"),
    ("NUL in a custom arg key", mail(custom_args={"k\x00": "v"}), None, "NUL character"),
]  # fmt: skip


async def test_bad_requests_answer_sendgrid_errors_and_queue_nothing(
    anon: httpx.AsyncClient, app: FastAPI, settings: Settings
) -> None:
    engine = engine_of(app)
    await verified_sender(engine)
    for name, body, field, message in BAD_REQUESTS:
        response = await post(anon, settings, body)
        assert response.status_code == 400, (name, response.text)
        [error] = response.json()["errors"]
        assert error["field"] == (field or None), (name, error)
        assert message in error["message"], (name, error)
    garbled = await anon.post(
        "/v3/mail/send",
        content=b"{not json",
        headers={**bearer(settings), "Content-Type": "application/json"},
    )
    assert garbled.status_code == 400
    assert garbled.json()["errors"][0]["message"] == "The request body is not valid JSON."
    nobody = await anon.post("/v3/mail/send", json=mail())
    assert nobody.status_code == 401
    assert "errors" in nobody.json()
    assert await email_rows(engine) == []
    assert await email_events(engine) == []


async def test_an_unverified_sender_is_refused_unless_the_account_allows_it(
    anon: httpx.AsyncClient, app: FastAPI, settings: Settings
) -> None:
    engine = engine_of(app)
    await verified_sender(engine, "pending@example.com", verified=False)
    await verified_sender(engine)
    one_bad = mail(
        personalizations=[
            {"to": [{"email": "a@example.net"}]},
            {"to": [{"email": "b@example.net"}], "from": {"email": "pending@example.com"}},
        ]
    )

    unknown = await post(anon, settings, mail(**{"from": {"email": "who@example.com"}}))
    unverified = await post(anon, settings, mail(**{"from": {"email": "pending@example.com"}}))
    mixed = await post(anon, settings, one_bad)

    assert (unknown.status_code, unverified.status_code, mixed.status_code) == (403, 403, 403)
    assert unknown.json()["errors"][0]["field"] == "from"
    assert mixed.json()["errors"][0]["field"] == "personalizations.1.from"
    assert await email_rows(engine) == []

    await set_account(engine, settings={"sendgrid_unverified_from": True})
    allowed = await post(anon, settings, mail(**{"from": {"email": "who@example.com"}}))
    assert allowed.status_code == 202, allowed.text
    [row] = await email_rows(engine)
    assert row["sender"] == "who@example.com"


async def test_without_enough_credit_nothing_is_queued_or_charged(
    anon: httpx.AsyncClient, app: FastAPI, settings: Settings
) -> None:
    engine = engine_of(app)
    await verified_sender(engine)
    await set_account(engine, balance_micros=1_500)  # one recipient's worth, not two
    two = mail(
        personalizations=[
            {"to": [{"email": "a@example.net"}]},
            {"to": [{"email": "b@example.net"}]},
        ]
    )

    response = await post(anon, settings, two)

    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["message"].startswith("Not enough credit")
    assert await email_rows(engine) == []
    assert await balance(engine) == 1_500


async def test_sandbox_mode_validates_and_sends_nothing(
    anon: httpx.AsyncClient, app: FastAPI, settings: Settings
) -> None:
    engine = engine_of(app)
    await verified_sender(engine)
    sandbox = {"sandbox_mode": {"enable": True}}

    valid = await post(anon, settings, mail(mail_settings=sandbox))
    invalid = await post(anon, settings, mail(mail_settings=sandbox, subject=""))

    assert (valid.status_code, valid.content, "X-Message-Id" in valid.headers) == (200, b"", False)
    assert invalid.status_code == 400
    assert invalid.json()["errors"][0]["field"] == "subject"
    assert await email_rows(engine) == []


# --- delivery ---------------------------------------------------------------------------------


async def test_a_scheduled_send_waits_for_its_time(
    anon: httpx.AsyncClient, app: FastAPI, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = engine_of(app)
    await verified_sender(engine)
    send_at = int(time.time()) + 3600
    response = await post(
        anon,
        settings,
        mail(
            personalizations=[{"to": [{"email": "ann@example.net"}], "send_at": send_at}], send_at=1
        ),
    )
    assert response.status_code == 202, response.text
    [row] = await email_rows(engine)
    assert row["schedule"] == send_at and row["due_at"] == send_at

    assert await deliver(engine, settings) == 0
    clock = SimpleNamespace(time=lambda: send_at + 1.0)
    monkeypatch.setattr(dispatcher_module, "time", clock)
    assert await deliver(engine, settings) == 1
    [row] = await email_rows(engine)
    assert row["status"] == "delivered"


async def test_a_real_smtp_relay_receives_the_mail(settings: Settings) -> None:
    from dovecote.app import create_app

    with smtp_relay() as relay:
        configured = with_smtp(settings, relay)
        application = create_app(configured)
        async with application.router.lifespan_context(application):
            engine = engine_of(application)
            await verified_sender(engine)
            transport = httpx.ASGITransport(app=application)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
                body = mail(
                    personalizations=[
                        {
                            "to": [{"email": "ann@example.net"}],
                            "bcc": [{"email": "boss@example.org"}],
                        }
                    ],
                    attachments=[{"content": b64(PDF), "filename": "terms.pdf"}],
                )
                response = await post(http, configured, body)
            assert response.status_code == 202, response.text
            assert await deliver(engine, configured) == 2
            await until(lambda: len(relay.received) == 2)

    by_recipient = {tuple(item.recipients): item for item in relay.received}
    assert set(by_recipient) == {("ann@example.net",), ("boss@example.org",)}
    ann = by_recipient[("ann@example.net",)]
    assert ann.sender == SENDER
    message = parse(ann.data)
    assert message["Subject"] == "Spring sale"
    assert message["X-Message-Id"] == response.headers["X-Message-Id"]
    assert message["Bcc"] is None
    [attached] = list(message.iter_attachments())
    assert attached.get_content() == PDF


async def test_the_unsubscribe_group_reaches_email_activity(
    anon: httpx.AsyncClient, app: FastAPI, settings: Settings
) -> None:
    await verified_sender(engine_of(app))
    sent = await post(anon, settings, mail(asm={"group_id": 42}))
    msg_id = sent.headers["X-Message-Id"]

    found = await anon.get(
        "/v3/messages", params={"query": "unsubscribe_group_id=42"}, headers=bearer(settings)
    )
    other = await anon.get(
        "/v3/messages", params={"query": "unsubscribe_group_id=7"}, headers=bearer(settings)
    )
    detail = await anon.get(f"/v3/messages/{msg_id}", headers=bearer(settings))

    assert sent.status_code == 202
    assert [m["msg_id"] for m in found.json()["messages"]] == [msg_id]
    assert other.json()["messages"] == []
    assert detail.json()["asm_group_id"] == 42


async def test_substitutions_that_expand_past_the_size_limits_are_refused(
    settings: Settings,
) -> None:
    from dovecote.app import create_app

    # 60 KB of tags: a 20 MB email once each tag became 1,000 bytes.
    tags = "%x%" * 20_000

    def amplified(value: str, people: int = 1) -> dict[str, Any]:
        return mail(
            content=[{"type": "text/plain", "value": tags}],
            personalizations=[
                {"to": [{"email": f"r{i}@example.net"}], "substitutions": {"%x%": value}}
                for i in range(people)
            ],
        )

    configured = settings.model_copy(update={"mail_send_max_total_bytes": 5_000_000})
    application = create_app(configured)
    async with application.router.lifespan_context(application):
        engine = engine_of(application)
        await verified_sender(engine)
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            amplified_20_mb = await post(http, configured, amplified("A" * 1000))
            # Emails of 2 MB each: two fit in the 5 MB total, three do not.
            three = await post(http, configured, amplified("A" * 100, people=3))
            two = await post(http, configured, amplified("A" * 100, people=2))
        rows = await email_rows(engine)

    for refused in (amplified_20_mb, three):
        assert refused.status_code == 400, refused.text
        assert refused.json() == {
            "errors": [
                {
                    "field": "personalizations",
                    "message": "The emails of one request may be at most 5,000,000 bytes "
                    "together, with substitutions applied and attachments included. Send "
                    "fewer personalizations per request.",
                }
            ]
        }
    assert two.status_code == 202, two.text
    assert sorted(row["recipient"] for row in rows) == ["r0@example.net", "r1@example.net"]


async def test_an_email_expanded_past_30_mb_is_refused(settings: Settings) -> None:
    from dovecote.app import create_app

    configured = settings.model_copy(update={"mail_send_max_total_bytes": 10**12})
    application = create_app(configured)
    async with application.router.lifespan_context(application):
        engine = engine_of(application)
        await verified_sender(engine)
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            body = mail(
                content=[{"type": "text/plain", "value": "%x%" * 20_000}],
                personalizations=[
                    {"to": [{"email": "ann@example.net"}], "substitutions": {"%x%": "A" * 1700}}
                ],
            )
            response = await post(http, configured, body)
        rows = await email_rows(engine)

    assert response.status_code == 400, response.text
    [error] = response.json()["errors"]
    assert error["field"] == "personalizations.0"
    assert "31,457,280 bytes (30 MB)" in error["message"]
    assert rows == []
