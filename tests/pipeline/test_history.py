"""`pipeline.history.ChannelHistory`: one channel's page, export link, link check and
export rows, and the shared `HistoryEntry`."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import sqlalchemy as sa
from fastapi import FastAPI

from dovecote.core.errors import Forbidden
from dovecote.core.models import Principal
from dovecote.pipeline.history import ChannelHistory, entry_from_row
from dovecote.settings import Settings
from dovecote.storage.listing import ListQuery
from dovecote.storage.tables import messages
from email_support import owner_principal
from sms_support import insert, sms

KINDLESS = ChannelHistory(
    channel="sms", export_path="/v3/sms/x", default_filename="sms.csv", kind=None
)
VOICE = ChannelHistory(
    channel="voice", export_path="/v3/voice/x", default_filename="voice.csv", kind="voice"
)
FAX = ChannelHistory(channel="fax", export_path="/v3/fax/x", default_filename="fax.csv", kind="fax")


def _with_upper_body(query: sa.Select[Any]) -> sa.Select[Any]:
    return query.add_columns(sa.func.upper(messages.c.body).label("shout"))


SHOUTED = ChannelHistory(
    channel="voice",
    export_path="/v3/voice/x",
    default_filename="voice.csv",
    kind="voice",
    extend=_with_upper_body,
)


def _query(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query))


def _link(history: ChannelHistory, principal: Principal, settings: Settings) -> str:
    return history.export_link(
        principal,
        ListQuery(),
        date_from=None,
        date_to=None,
        filename=None,
        secret=settings.secret_key,
        base_url="http://testserver",
        ttl=60,
    )


async def test_a_link_opens_only_the_history_that_signed_it(
    app: FastAPI, settings: Settings
) -> None:
    principal = await owner_principal(app.state.runtime.engine)
    engine = app.state.runtime.engine
    voice_link, sms_link = _link(VOICE, principal, settings), _link(KINDLESS, principal, settings)
    assert urlsplit(voice_link).path == "/v3/voice/x"
    assert _query(voice_link)["filename"] == "voice.csv"
    async with engine.connect() as conn:
        export = await VOICE.open_export(conn, _query(voice_link), secret=settings.secret_key)
        assert export.filename == "voice.csv"
        assert (
            await KINDLESS.open_export(conn, _query(sms_link), secret=settings.secret_key)
        ).filename == "sms.csv"
        for history, link in ((FAX, voice_link), (KINDLESS, voice_link), (VOICE, sms_link)):
            with pytest.raises(Forbidden):
                await history.open_export(conn, _query(link), secret=settings.secret_key)


async def test_a_history_lists_and_exports_its_own_channel_with_its_extension(
    app: FastAPI, settings: Settings
) -> None:
    principal = await owner_principal(app.state.runtime.engine)
    engine = app.state.runtime.engine
    call = sms(principal.account.id, principal.user.id, channel="voice", body="hello")
    text = sms(principal.account.id, principal.user.id, body="not a call")
    await insert(engine, messages, call, text)

    async with engine.connect() as conn:
        page = await SHOUTED.list_history(conn, principal, ListQuery())
    assert [row["id"] for row in page.rows] == [call["id"]]
    assert page.rows[0]["shout"] == "HELLO"

    async with engine.connect() as conn:
        link = _link(SHOUTED, principal, settings)
        export = await SHOUTED.open_export(conn, _query(link), secret=settings.secret_key)
    rows = [row async for row in SHOUTED.export_rows(engine, export)]
    assert [(row["id"], row["shout"]) for row in rows] == [(call["id"], "HELLO")]


def test_an_entry_carries_subject_and_media_only_when_the_row_has_them() -> None:
    row = {**sms(1, 2), "username": "me", "error_code": None, "error_text": None}
    plain = entry_from_row(row)
    assert plain.subject is None and plain.media_key is None
    mms = entry_from_row({**row, "subject": "Hi", "media_key": "media/abc.jpg"})
    assert (mms.subject, mms.media_key, mms.body) == ("Hi", "media/abc.jpg", "Hello there")
