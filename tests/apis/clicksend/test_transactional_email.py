"""`/v3/email/send`, `/v3/email/price`, `/v3/email/history` and its export."""

from __future__ import annotations

import asyncio
import base64
import csv
import io
import re
from typing import Any
from urllib.parse import urlsplit

import clicksend
import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI

from dispatch_support import dispatcher as build_dispatcher
from dovecote.settings import Settings
from dovecote.storage.db import create_engine
from dovecote.storage.tables import email_activity, email_addresses, events, suppressions
from email_support import (
    add_address,
    balance,
    email_events,
    email_rows,
    engine_of,
    owner_principal,
    parse,
    select,
    user_id_of,
)
from sms_support import as_caller, other_account, sdk, subaccount

UNIT = 1_000  # the packaged USD email price, 0.0010, in micro-units


async def sender_id(app: FastAPI, *, verified: bool = True, address: str = "me@example.com") -> int:
    engine = engine_of(app)
    me = await owner_principal(engine)
    return await add_address(engine, me.account.id, me.user.id, address, verified=verified)


def payload(address_id: int | str, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "to": [{"email": "john@example.net", "name": "John Doe"}],
        "cc": [{"email": "jane@example.net", "name": "Jane Doe"}],
        "bcc": [{"email": "joseph@example.net", "name": "Joseph Doe"}],
        "from": {"email_address_id": address_id, "name": "Joanne Doe"},
        "subject": "Test subject",
        "body": "<p>Lorem <b>ipsum</b></p>",
        "attachments": [
            {
                "content": base64.b64encode(b"file contents").decode(),
                "type": "text/plain",
                "filename": "text.txt",
                "disposition": "attachment",
                "content_id": "text",
            }
        ],
    }
    body.update(changes)
    return body


async def test_send_queues_one_message_per_recipient_and_charges_each(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    address_id = await sender_id(app)
    engine = engine_of(app)
    before = await balance(engine)
    response = await client.post("/v3/email/send", json=payload(address_id))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["response_code"] == "SUCCESS"
    assert body["response_msg"] == "Transactional email queued for delivery."
    data = body["data"]
    assert data["from_email_address_id"] == address_id
    assert data["from_name"] == "Joanne Doe"
    assert data["to"] == [{"email": "john@example.net", "name": "John Doe"}]
    assert data["cc"] == [{"email": "jane@example.net", "name": "Jane Doe"}]
    assert data["bcc"] == [{"email": "joseph@example.net", "name": "Joseph Doe"}]
    assert data["body_plain_text"] == "Lorem ipsum\n"
    assert data["status"] == "Queued"
    assert data["price"] == "0.0030"
    assert isinstance(data["date_added"], int) and data["schedule"] == data["date_added"]
    assert data["_attachments"] == [
        {
            "file_name": "text.txt",
            "content_type": "text/plain",
            "content_disposition": "attachment",
            "content_id": "text",
            "_attachment_file_url": None,
        }
    ]
    assert data["_currency"]["currency_name_short"] == "USD"

    assert await balance(engine) == before - 3 * UNIT
    rows = await email_rows(engine)
    assert sorted(r["recipient"] for r in rows) == [
        "jane@example.net",
        "john@example.net",
        "joseph@example.net",
    ]
    first = next(r for r in rows if r["id"] == data["message_id"])
    assert first["group_id"] is None and first["sender"] == "me@example.com"
    assert all(r["group_id"] == first["id"] for r in rows if r is not first)
    assert all(r["status"] == "queued" and r["price_micros"] == UNIT for r in rows)
    processed = await email_events(engine)
    assert [e["type"] for e in processed] == ["processed"] * 3
    assert {e["data"]["originating_ip"] for e in processed} == {"127.0.0.1"}
    assert {e["data"]["subject"] for e in processed} == {"Test subject"}


async def test_test_addresses_succeed_free_and_never_reach_a_transport(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings
) -> None:
    address_id = await sender_id(app)
    engine = engine_of(app)
    before = await balance(engine)
    body = payload(
        address_id,
        to=[{"email": "test1@test.com"}],
        cc=[{"email": "test2@test.com"}],
        bcc=[{"email": "TEST3@test.com"}],
    )
    response = await client.post("/v3/email/send", json=body)
    assert response.status_code == 200, response.text
    assert response.json()["data"]["price"] == "0.0000"
    assert response.json()["data"]["status"] == "Completed"
    assert await balance(engine) == before
    rows = await email_rows(engine)
    assert [(r["status"], r["due_at"], r["is_test"]) for r in rows] == [("test", None, True)] * 3
    dispatcher = build_dispatcher(engine, settings)
    assert await dispatcher.run_once() == 0


async def test_the_sandbox_delivers_email_with_smtp_shaped_events(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings
) -> None:
    address_id = await sender_id(app)
    response = await client.post("/v3/email/send", json=payload(address_id, cc=[], bcc=[]))
    message_id = response.json()["data"]["message_id"]
    engine = engine_of(app)
    dispatcher = build_dispatcher(engine, settings)
    assert await dispatcher.run_once() == 1
    _, delivered = await email_events(engine, message_id)
    assert delivered["type"] == "delivered"
    assert delivered["data"]["mx_server"] == "sandbox.dovecote.localhost"
    assert delivered["data"]["attempt_num"] == 1
    [activity] = await select(engine, sa.select(email_activity))
    assert activity["status"] == "delivered"
    history = (await client.get("/v3/email/history")).json()["data"]["data"]
    assert history[0]["status"] == "Delivered"


async def test_a_suppressed_recipient_is_dropped_uncharged(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    address_id = await sender_id(app)
    engine = engine_of(app)
    me = await owner_principal(engine)
    async with engine.begin() as conn:
        await conn.execute(
            suppressions.insert().values(
                account_id=me.account.id,
                email="jane@example.net",
                reason="unsubscribe",
                created_at=1,
            )
        )
    before = await balance(engine)
    response = await client.post("/v3/email/send", json=payload(address_id, bcc=[]))
    assert response.status_code == 200
    assert response.json()["data"]["price"] == "0.0010"
    assert await balance(engine) == before - UNIT
    jane = next(r for r in await email_rows(engine) if r["recipient"] == "jane@example.net")
    assert (jane["status"], jane["due_at"], jane["price_micros"]) == ("failed", None, 0)
    kinds = [e["type"] for e in await email_events(engine, jane["id"])]
    assert kinds == ["processed", "dropped"]
    [activity] = await select(
        engine, sa.select(email_activity).where(email_activity.c.message_id == jane["id"])
    )
    assert activity["status"] == "not_delivered"


def _big_attachment(settings: Settings) -> list[dict[str, str]]:
    content = base64.b64encode(b"x" * (settings.email_max_attachment_bytes + 1)).decode()
    return [{"content": content, "filename": "big.bin", "type": "application/octet-stream"}]


BAD_INPUT: list[tuple[str, Any, str]] = [
    ("missing to", {"to": []}, "to must hold at least one recipient"),
    ("invalid to", {"to": [{"email": "not-an-address"}]}, "to[0].email"),
    ("invalid cc", {"cc": [{"email": "jane@"}]}, "cc[0].email"),
    ("invalid bcc", {"bcc": [{"email": ""}]}, "bcc[0].email is required"),
    ("missing from", {"from": None}, "from.email_address_id is required"),
    ("foreign sender", "foreign", "is not an email address of this account"),
    ("unknown sender", {"from": {"email_address_id": 999_999}}, "from.email_address_id"),
    ("unverified sender", "unverified", "is not verified yet"),
    ("missing subject", {"subject": "  "}, "subject is required"),
    ("missing body", {"body": ""}, "body is required"),
    ("bad base64", {"attachments": [{"content": "not base64!", "filename": "a"}]}, "base64"),
    ("no filename", {"attachments": [{"content": "aGk="}]}, "attachments[0].filename"),
    (
        "filename with CRLF",  # once a HeaderParseError (500) on send, accepted by price
        {"attachments": [{"content": "aGk=", "filename": "a\r\nX-Injected: 1.txt"}]},
        "attachments[0].filename may not contain line breaks",
    ),
    (
        "filename with LF",
        {"attachments": [{"content": "aGk=", "filename": "a\nb.txt"}]},
        "attachments[0].filename may not contain line breaks",
    ),
    ("oversized", "oversized", "attachments total"),
    ("bad schedule", {"schedule": "tomorrow"}, "schedule"),
    ("wrong type", {"to": "john@example.net"}, "to"),
]


@pytest.mark.parametrize(("case", "change", "message"), BAD_INPUT, ids=[c[0] for c in BAD_INPUT])
async def test_bad_input_is_a_400_naming_the_field_and_nothing_is_written(
    app: FastAPI,
    client: httpx.AsyncClient,
    settings: Settings,
    case: str,
    change: Any,
    message: str,
) -> None:
    engine = engine_of(app)
    address_id = await sender_id(app)
    body = payload(address_id)
    if change == "foreign":
        stranger = await other_account(engine)
        body["from"]["email_address_id"] = await add_address(
            engine, stranger.account_id, stranger.user_id, "them@example.com"
        )
    elif change == "unverified":
        body["from"]["email_address_id"] = await sender_id(
            app, verified=False, address="not-yet@example.com"
        )
    elif change == "oversized":
        body["attachments"] = _big_attachment(settings)
    else:
        body.update(change)
    before = await balance(engine)
    for path in ("/v3/email/send", "/v3/email/price"):
        response = await client.post(path, json=body)
        assert response.status_code == 400, response.text
        assert response.json()["response_code"] == "BAD_REQUEST"
        assert message in response.json()["response_msg"]
    assert await email_rows(engine) == []
    assert await select(engine, sa.select(events)) == []
    assert await balance(engine) == before


async def test_price_computes_without_storing(app: FastAPI, client: httpx.AsyncClient) -> None:
    address_id = await sender_id(app)
    engine = engine_of(app)
    before = await balance(engine)
    response = await client.post(
        "/v3/email/price", json=payload(address_id, bcc=[{"email": "test1@test.com"}])
    )
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["price"] == 0.002  # two paying recipients; the test address is free
    assert data["to_array"] == [{"email": "john@example.net", "name": "John Doe"}]
    assert data["subject"] == "Test subject"
    assert await email_rows(engine) == []
    assert await balance(engine) == before


async def test_no_credit_refuses_paid_email_but_sends_to_test_addresses(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    engine = engine_of(app)
    nocredit = await owner_principal(engine, "nocredit")
    address_id = await add_address(engine, nocredit.account.id, nocredit.user.id, "nc@example.com")
    auth = ("nocredit", "D83DED51-9E35-4D42-9BB9-0E34B7CA85AE")
    base = {"from": {"email_address_id": address_id}, "subject": "Hi", "body": "<p>Hi</p>"}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver", auth=auth
    ) as http:
        refused = await http.post(
            "/v3/email/send", json={**base, "to": [{"email": "a@example.net"}]}
        )
        assert refused.status_code == 400
        assert refused.json()["response_code"] == "INSUFFICIENT_CREDIT"
        assert await email_rows(engine) == []
        free = await http.post("/v3/email/send", json={**base, "to": [{"email": "test1@test.com"}]})
        assert free.status_code == 200, free.text


async def test_a_subaccount_without_email_access_is_forbidden(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings
) -> None:
    from sms_support import owner

    me = await owner(client, settings)
    sub = await subaccount(client, me, "mailless", reporting=False)
    await client.put(f"/v3/subaccounts/{sub.user_id}", json={"access_email": 0})
    async with as_caller(app, sub) as http:
        response = await http.post("/v3/email/send", json=payload(await sender_id(app)))
    assert response.status_code == 403


async def test_history_lists_one_entry_per_email_and_searches(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    address_id = await sender_id(app)
    for subject in ("Invoice 1", "Welcome", "Invoice 2"):
        response = await client.post("/v3/email/send", json=payload(address_id, subject=subject))
        assert response.status_code == 200
    listed = (await client.get("/v3/email/history")).json()
    assert listed["response_msg"] == "Here is your result."
    page = listed["data"]
    assert (page["total"], page["per_page"], page["current_page"], page["last_page"]) == (
        3,
        15,
        1,
        1,
    )
    assert [e["subject"] for e in page["data"]] == ["Invoice 1", "Welcome", "Invoice 2"]
    first = page["data"][0]
    assert first["price"] == "0.0030"  # the three recipients together
    assert [p["email"] for p in first["cc"]] == ["jane@example.net"]
    assert first["_attachments"][0]["file_name"] == "text.txt"
    found = (await client.get("/v3/email/history", params={"q": "subject:invoice"})).json()
    assert [e["subject"] for e in found["data"]["data"]] == ["Invoice 1", "Invoice 2"]
    bad = await client.get("/v3/email/history", params={"q": "password:x"})
    assert bad.status_code == 400


async def test_the_export_streams_csv_by_a_signed_link_and_defuses_formulas(
    app: FastAPI, client: httpx.AsyncClient, anon: httpx.AsyncClient
) -> None:
    address_id = await sender_id(app)
    await client.post("/v3/email/send", json=payload(address_id, subject="=HYPERLINK(1)"))
    linked = await client.get("/v3/email/history/export", params={"filename": "mine.csv"})
    assert linked.status_code == 200
    url = urlsplit(linked.json()["data"]["url"])
    downloaded = await anon.get(f"{url.path}?{url.query}")
    assert downloaded.status_code == 200
    assert downloaded.headers["content-disposition"] == 'attachment; filename="mine.csv"'
    rows = list(csv.DictReader(io.StringIO(downloaded.text)))
    assert len(rows) == 1
    assert rows[0]["subject"] == "'=HYPERLINK(1)"
    assert rows[0]["to"] == "john@example.net"
    tampered = url.query.replace("kind=email", "kind=sms")
    assert (await anon.get(f"{url.path}?{tampered}")).status_code in (403, 404)
    accented = re.sub(r"signature=[^&]*", "signature=%C3%A9", url.query)
    assert (await anon.get(f"{url.path}?{accented}")).status_code == 403
    sms_link = (await client.get("/v3/sms/history/export")).json()["data"]["url"]
    sms_query = urlsplit(sms_link).query
    assert (await anon.get(f"{url.path}?{sms_query}")).status_code == 403


async def test_a_sent_email_is_built_as_mime_with_its_attachment(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    from dovecote.storage.tables import message_content

    address_id = await sender_id(app)
    response = await client.post("/v3/email/send", json=payload(address_id))
    message_id = response.json()["data"]["message_id"]
    [row] = await select(
        engine_of(app),
        sa.select(message_content).where(message_content.c.message_id == message_id),
    )
    mail = parse(row["content"])
    assert mail["From"] == "Joanne Doe <me@example.com>"
    assert mail["To"] == "John Doe <john@example.net>"
    assert mail["Bcc"] is None
    [attachment] = list(mail.iter_attachments())
    assert attachment.get_filename() == "text.txt"
    assert attachment.get_content() == "file contents"


# --- the official SDK -------------------------------------------------------------------


def test_the_sdk_sends_prices_and_reads_history(live_server: Any, settings: Settings) -> None:
    async def prepare() -> int:
        engine = create_engine(settings.database_url)
        try:
            user_id = await user_id_of(engine, "owner")
            me = await owner_principal(engine)
            assert me.user.id == user_id
            return await add_address(engine, me.account.id, user_id, "sdk@example.com")
        finally:
            await engine.dispose()

    address_id = asyncio.run(prepare())
    with sdk(live_server.url, settings) as api_client:
        api = clicksend.EmailApi(api_client)
        request = clicksend.SendEmailRequest.from_dict(
            {
                "to": [{"email": "reader@example.net", "name": "Reader"}],
                "from": {"email_address_id": str(address_id), "name": "SDK"},
                "subject": "From the SDK",
                "body": "<p>Hello from the <i>SDK</i></p>",
                "attachments": [
                    {
                        "content": base64.b64encode(b"%PDF-1.4").decode(),
                        "type": "application/pdf",
                        "filename": "doc.pdf",
                        "disposition": "attachment",
                        "content_id": "doc",
                    }
                ],
            }
        )
        sent = api.send_email(send_email_request=request)
        priced = api.calculate_email_price(
            calculate_email_price_request=clicksend.CalculateEmailPriceRequest.from_dict(
                {
                    "to": [{"email": "reader@example.net"}],
                    "from": {"email_address_id": str(address_id)},
                    "subject": "Price",
                    "body": "<p>x</p>",
                }
            )
        )
        history = api.view_email_history()
        exported = api.export_email_history()

    assert isinstance(sent, clicksend.SendEmail)
    assert sent.data is not None
    assert sent.data.message_id and sent.data.from_email_address_id == address_id
    assert sent.data.subject == "From the SDK" and sent.data.price == "0.0010"
    assert sent.data.to is not None and sent.data.to[0].email == "reader@example.net"
    assert sent.data.attachments is not None and sent.data.attachments[0].file_name == "doc.pdf"
    assert sent.data.currency is not None
    assert isinstance(priced, clicksend.CalculateEmailPrice) and priced.response_code == "SUCCESS"
    assert isinstance(history, clicksend.ViewEmailHistory)
    assert history.data is not None and history.data.total == 1
    assert exported.data is not None and exported.data.url is not None
    assert "/v3/email/history/export/download?" in exported.data.url


async def test_an_address_of_another_account_is_refused_even_when_verified(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    engine = engine_of(app)
    stranger = await other_account(engine)
    theirs = await add_address(engine, stranger.account_id, stranger.user_id, "x@example.com")
    response = await client.post("/v3/email/send", json=payload(theirs))
    assert response.status_code == 400
    assert "from.email_address_id" in response.json()["response_msg"]
    rows = await select(engine, sa.select(email_addresses))
    assert len(rows) == 1


async def test_system_mail_is_not_in_the_email_history_nor_its_export(
    app: FastAPI, client: httpx.AsyncClient, anon: httpx.AsyncClient, settings: Settings
) -> None:
    address_id = await sender_id(app)
    sent = await client.post("/v3/email/send", json=payload(address_id, subject="Invoice"))
    unverified = await client.post("/v3/email/addresses", json={"email_address": "new@example.com"})
    new_id = unverified.json()["data"]["email_address_id"]
    assert (await client.put(f"/v3/email/address-verify/{new_id}/send")).status_code == 200
    assert (await client.post("/sendCode", json={"email": "user@example.com"})).status_code == 200
    customer = sent.json()["data"]["message_id"]

    history = (await client.get("/v3/email/history")).json()["data"]
    by_body = (await client.get("/v3/email/history", params={"q": "body:token"})).json()["data"]
    by_from = await client.get("/v3/email/history", params={"q": "from:no-reply"})
    url = urlsplit((await client.get("/v3/email/history/export")).json()["data"]["url"])
    exported = list(csv.DictReader(io.StringIO((await anon.get(f"{url.path}?{url.query}")).text)))
    activity = await anon.get(
        "/v3/messages",
        params={"limit": 100},
        headers={"Authorization": f"Bearer {settings.owner_api_key}"},
    )

    assert [e["message_id"] for e in history["data"]] == [customer]
    assert history["total"] == 1
    assert by_body["total"] == 0  # the activation token is not searchable either
    assert by_from.json()["data"]["total"] == 0
    assert [row["message_id"] for row in exported] == [customer]
    # Email Activity still shows the platform's mail beside the customer's.
    assert activity.status_code == 200, activity.text
    subjects = {m["subject"] for m in activity.json()["messages"]}
    assert "Verify your sender address" in subjects
    assert any("verification code" in subject for subject in subjects)
    assert len({m["msg_id"] for m in activity.json()["messages"]}) == 5  # 3 + 2 system
    rows = await email_rows(engine_of(app))
    assert {r["source"] for r in rows if r["sender"] == settings.system_email_from} == {"system"}
    assert {r["source"] for r in rows if r["sender"] != settings.system_email_from} == {None}
