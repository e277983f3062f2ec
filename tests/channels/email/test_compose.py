"""Email composition and queueing: one row per recipient, prices, drops, events, MIME."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from fastapi import FastAPI

from dovecote.channels.email import compose as email_domain
from dovecote.core.errors import InvalidInput
from dovecote.settings import Settings
from dovecote.storage.tables import (
    email_activity,
    email_activity_args,
    email_activity_categories,
    message_content,
    message_payloads,
)
from email_support import (
    balance,
    email_events,
    email_rows,
    engine_of,
    owner_principal,
    parse,
    select,
)


async def test_a_system_email_is_queued_free_with_content_events_and_activity(
    app: FastAPI, settings: Settings
) -> None:
    engine = engine_of(app)
    principal = await owner_principal(engine)
    before = await balance(engine)
    async with engine.begin() as conn:
        message_id = await app.state.runtime.system_mail.send(
            conn,
            account_id=principal.account.id,
            user_id=principal.user.id,
            to="Someone@Example.com",
            subject="Verify your address",
            html="<p>Your code is <b>123456</b></p>",
            categories=["verification", "otp"],
            unique_args={"purpose": "signup"},
            template_id="tmpl-1",
            api_key_id="key-7",
            originating_ip="203.0.113.9",
        )
    assert await balance(engine) == before
    [row] = await email_rows(engine)
    assert row["id"] == message_id
    assert row["status"] == "queued" and row["due_at"] is not None
    assert row["sender"] == settings.system_email_from
    assert row["recipient"] == "Someone@example.com"
    assert row["price_micros"] == 0
    [content] = await select(engine, sa.select(message_content))
    mime = parse(content["content"])
    assert mime["From"] == "no-reply@dovecote.localhost"
    assert mime["Subject"] == "Verify your address"
    assert mime["Message-ID"] == f"<{message_id.lower()}@dovecote.localhost>"
    plain = mime.get_body(("plain",))
    assert plain is not None and "Your code is 123456" in plain.get_content()
    [payload] = await select(engine, sa.select(message_payloads))
    assert payload["payload"]["to"] == [{"email": "Someone@example.com", "name": None}]
    [processed] = await email_events(engine)
    assert processed["type"] == "processed"
    assert processed["data"]["msg_id"] == message_id
    assert processed["data"]["originating_ip"] == "203.0.113.9"
    [activity] = await select(engine, sa.select(email_activity))
    assert activity["status"] == "processed"
    assert activity["to_email"] == "Someone@example.com"
    assert activity["template_id"] == "tmpl-1" and activity["api_key_id"] == "key-7"
    assert activity["categories"] == ["verification", "otp"]
    categories = await select(engine, sa.select(email_activity_categories.c.category))
    assert sorted(c["category"] for c in categories) == ["otp", "verification"]
    [arg] = await select(engine, sa.select(email_activity_args))
    assert (arg["key"], arg["value"]) == ("purpose", "signup")


async def test_a_system_email_to_an_invalid_address_names_the_field(
    app: FastAPI, settings: Settings
) -> None:
    engine = engine_of(app)
    principal = await owner_principal(engine)
    async with engine.begin() as conn:
        with pytest.raises(InvalidInput) as raised:
            await app.state.runtime.system_mail.send(
                conn,
                account_id=principal.account.id,
                user_id=principal.user.id,
                to="not-an-address",
                subject="Hi",
                html="<p>x</p>",
            )
    assert raised.value.field == "to"
    assert await email_rows(engine) == []


@pytest.mark.parametrize(
    "filename",
    [
        "a\r\nX-Injected: 1.txt",
        "a\nb.txt",
        "a\rb.txt",
        "report.pdf\n",
        "a\x0bb",
        "a\u2028b",
        "é\x85",
    ],
)
def test_an_attachment_filename_with_a_line_break_or_control_is_refused(filename: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        email_domain.attachment("aGk=", filename=filename, field="attachments[2]")
    assert refused.value.field == "attachments[2].filename"
    assert "line breaks" in refused.value.message


def test_an_attachment_filename_keeps_its_last_path_part_and_unicode() -> None:
    made = email_domain.attachment("aGk=", filename="C:\\docs\\Résumé 2024.pdf", field="a")
    assert (made.filename, made.content) == ("Résumé 2024.pdf", b"hi")
