"""`/v3/sms/history` and its signed CSV export."""

from __future__ import annotations

import asyncio
import csv
import io
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import clicksend
import httpx
from fastapi import FastAPI

from conftest import OWNER, OWNER_KEY
from dovecote.accounts import store as account_store
from dovecote.app import create_app
from dovecote.channels.sms import history
from dovecote.core import security
from dovecote.core.models import Principal
from dovecote.pipeline import status as st
from dovecote.settings import Settings
from dovecote.storage.listing import ListQuery
from dovecote.storage.tables import messages
from sms_support import (
    T0,
    as_caller,
    insert,
    insert_into,
    other_account,
    owner,
    reply,
    sdk,
    sms,
    subaccount,
)


def engine_of(app: FastAPI) -> Any:
    return app.state.runtime.engine


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


async def test_history_shows_both_directions_in_clicksend_types(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings
) -> None:
    me = await owner(client, settings)
    sent = sms(
        me.account_id,
        me.user_id,
        body="Your code is 1234",
        custom_string="order-7",
        schedule=T0 + 60,
        list_id=12,
        price_micros=77_000,
    )
    received = reply(me.account_id, me.user_id, body="Thanks", created_at=T0 + 10)
    await insert(engine_of(app), messages, sent, received)

    response = await client.get("/v3/sms/history")

    assert response.status_code == 200
    body = response.json()
    assert body["response_code"] == "SUCCESS"
    page = body["data"]
    assert (page["total"], page["per_page"], page["current_page"], page["from"], page["to"]) == (
        2,
        15,
        1,
        1,
        2,
    )
    out, inbound = page["data"]  # oldest first, ClickSend's default order
    assert out["message_id"] == sent["id"]
    assert out["direction"] == "out"
    assert out["date"] == T0
    assert out["from"] == "Dovecote"
    assert out["to"] == "+61411111111"
    assert out["body"] == "Your code is 1234"
    assert out["status"] == "Delivered"
    assert out["status_code"] == "201"
    assert out["message_parts"] == 1
    assert out["message_price"] == "0.077000"
    assert out["schedule"] == str(T0 + 60)
    assert out["list_id"] == "12"
    assert out["custom_string"] == "order-7"
    assert out["subaccount_id"] == me.user_id
    assert out["user_id"] == me.user_id
    assert out["_api_username"] == settings.owner_username
    assert inbound["direction"] == "in"
    assert inbound["status"] == "Received"
    assert inbound["from"] == "+61411111111"


async def test_history_pages_searches_and_orders_on_whitelisted_fields(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings
) -> None:
    me = await owner(client, settings)
    rows = [
        sms(me.account_id, me.user_id, recipient=f"+614111111{i:02d}", created_at=T0 + i)
        for i in range(18)
    ]
    rows.append(
        sms(me.account_id, me.user_id, recipient="+14055555555", status=st.TEST, created_at=T0 + 99)
    )
    await insert(engine_of(app), messages, *rows)

    second = (await client.get("/v3/sms/history", params={"page": 2, "limit": 15})).json()["data"]
    assert second["total"] == 19
    assert second["last_page"] == 2
    assert (second["from"], second["to"]) == (16, 19)
    assert second["next_page_url"] is None
    assert "page=1" in second["prev_page_url"]

    found = (await client.get("/v3/sms/history", params={"q": "to:+1405"})).json()["data"]
    assert [m["to"] for m in found["data"]] == ["+14055555555"]
    # Status is searched as ClickSend shows it: the queue's `test` is "Completed".
    completed = (await client.get("/v3/sms/history", params={"q": "status:completed"})).json()
    assert [m["to"] for m in completed["data"]["data"]] == ["+14055555555"]

    newest = (await client.get("/v3/sms/history", params={"order_by": "date:desc"})).json()
    assert newest["data"]["data"][0]["to"] == "+14055555555"

    for params, name in (({"q": "price:1"}, "price"), ({"order_by": "secret:asc"}, "secret")):
        for path in ("/v3/sms/history", "/v3/sms/history/export"):
            refused = await client.get(path, params=params)
            assert refused.status_code == 400
            assert name in refused.json()["response_msg"]


async def test_date_filters_bound_the_history_inclusively(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings
) -> None:
    me = await owner(client, settings)
    await insert(
        engine_of(app),
        messages,
        *(sms(me.account_id, me.user_id, body=f"at {t}", created_at=t) for t in (1000, 2000, 3000)),
    )

    async def bodies(**params: int) -> list[str]:
        page = (await client.get("/v3/sms/history", params=params)).json()["data"]
        return [m["body"] for m in page["data"]]

    assert await bodies(date_from=1500, date_to=2500) == ["at 2000"]
    assert await bodies(date_from=2000) == ["at 2000", "at 3000"]
    assert await bodies(date_to=2000) == ["at 1000", "at 2000"]
    bad = await client.get("/v3/sms/history", params={"date_from": "yesterday"})
    assert bad.status_code == 400
    assert "date_from" in bad.json()["response_msg"]


async def test_a_subaccount_without_reporting_sees_and_exports_only_its_own_messages(
    app: FastAPI, client: httpx.AsyncClient, anon: httpx.AsyncClient, settings: Settings
) -> None:
    me = await owner(client, settings)
    clerk = await subaccount(client, me, "clerk", reporting=False)
    auditor = await subaccount(client, me, "auditor", reporting=True)
    await insert(
        engine_of(app),
        messages,
        sms(me.account_id, me.user_id, body="from the owner"),
        sms(me.account_id, clerk.user_id, body="from the clerk"),
    )

    async with as_caller(app, clerk) as as_clerk, as_caller(app, auditor) as as_auditor:
        clerk_page = (await as_clerk.get("/v3/sms/history")).json()["data"]
        auditor_page = (await as_auditor.get("/v3/sms/history")).json()["data"]
        export = (await as_clerk.get("/v3/sms/history/export")).json()["data"]["url"]
    owner_page = (await client.get("/v3/sms/history")).json()["data"]
    exported = list(csv.DictReader(io.StringIO((await anon.get(path_of(export))).text)))

    assert [m["body"] for m in clerk_page["data"]] == ["from the clerk"]
    assert clerk_page["data"][0]["_api_username"] == "clerk"
    assert auditor_page["total"] == 2
    assert owner_page["total"] == 2
    assert [row["body"] for row in exported] == ["from the clerk"]


async def test_another_account_sees_none_of_the_history(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings
) -> None:
    me = await owner(client, settings)
    await insert(engine_of(app), messages, sms(me.account_id, me.user_id))
    stranger = await other_account(engine_of(app))

    async with as_caller(app, stranger) as other:
        page = (await other.get("/v3/sms/history")).json()["data"]
        searched = (await other.get("/v3/sms/history", params={"q": "subaccount_id:1"})).json()

    assert page["total"] == 0
    assert page["data"] == []
    assert searched["data"]["total"] == 0


async def test_the_export_link_streams_csv_without_credentials_and_defuses_formulas(
    app: FastAPI, client: httpx.AsyncClient, anon: httpx.AsyncClient, settings: Settings
) -> None:
    me = await owner(client, settings)
    await insert(
        engine_of(app),
        messages,
        sms(me.account_id, me.user_id, body="=cmd|' /C calc'!A0", recipient="+61422222222"),
        sms(me.account_id, me.user_id, body="@SUM(1)", created_at=T0 + 1),
        sms(me.account_id, me.user_id, body="plain, with a comma", created_at=T0 + 2),
    )

    made = await client.get(
        "/v3/sms/history/export", params={"filename": "../my export.csv", "q": "body:comma"}
    )
    assert made.status_code == 200, made.text
    assert made.json()["response_msg"] == "Download your file here."
    url = made.json()["data"]["url"]
    # No public URL configured: the link is on the base the request reached.
    assert url.startswith("http://testserver/v3/sms/history/export/download?")

    everything = await client.get("/v3/sms/history/export", params={"filename": "all.csv"})
    download = await anon.get(path_of(everything.json()["data"]["url"]))

    assert download.status_code == 200
    assert download.headers["content-type"].startswith("text/csv")
    assert download.headers["content-disposition"] == 'attachment; filename="all.csv"'
    table = list(csv.DictReader(io.StringIO(download.text)))
    assert [row["body"] for row in table] == [
        "'=cmd|' /C calc'!A0",
        "'@SUM(1)",
        "plain, with a comma",
    ]
    # A phone number is a plain number, not a formula: left as it is.
    assert table[0]["to"] == "+61422222222"
    assert table[0]["status"] == "Delivered"
    assert table[0]["message_price"] == "0.077000"

    # The filter of the request travels in the signed link.
    filtered = await anon.get(path_of(url))
    rows = list(csv.DictReader(io.StringIO(filtered.text)))
    assert [row["body"] for row in rows] == ["plain, with a comma"]
    assert 'filename="my export.csv"' in filtered.headers["content-disposition"]


async def test_a_tampered_or_expired_export_link_is_refused(
    app: FastAPI, client: httpx.AsyncClient, anon: httpx.AsyncClient, settings: Settings
) -> None:
    me = await owner(client, settings)
    clerk = await subaccount(client, me, "clerk", reporting=False)
    async with as_caller(app, clerk) as as_clerk:
        url = (await as_clerk.get("/v3/sms/history/export")).json()["data"]["url"]
    query = dict(parse_qsl(urlsplit(url).query))
    download = urlsplit(url).path

    widened = {**query, "user": str(me.user_id)}  # try to read the owner's messages
    refused = await anon.get(f"{download}?{urlencode(widened)}")
    assert refused.status_code == 403
    assert refused.json()["response_code"] == "FORBIDDEN"

    # Another channel's link (same signed form, plus a `kind`) does not open SMS history.
    other_kind = {k: v for k, v in query.items() if k not in ("expires", "signature")}
    other_kind["kind"] = "email"
    expires = int(query["expires"])
    other_kind["signature"] = security.sign(
        settings.secret_key, urlencode(sorted(other_kind.items())), expires
    )
    other_kind["expires"] = str(expires)
    assert (await anon.get(f"{download}?{urlencode(other_kind)}")).status_code == 403

    # A signature that is not ASCII is as wrong as any other (not a 500).
    accented = {**query, "signature": "\u00e9"}
    assert (await anon.get(f"{download}?{urlencode(accented)}")).status_code == 403

    unsigned = {k: v for k, v in query.items() if k != "signature"}
    assert (await anon.get(f"{download}?{urlencode(unsigned)}")).status_code == 403
    assert (await anon.get(download)).status_code == 403

    async with engine_of(app).connect() as conn:
        user = await account_store.get_user(conn, me.user_id)
        account = await account_store.get_account(conn, me.account_id)
    assert user is not None and account is not None
    expired = history.export_link(
        Principal(user=user, account=account),
        ListQuery(),
        date_from=None,
        date_to=None,
        filename=None,
        secret=settings.secret_key,
        base_url=settings.public_base(),
        ttl=60,
        now=T0,
    )
    gone = await anon.get(path_of(expired))
    assert gone.status_code == 404
    assert "expired" in gone.json()["response_msg"]


async def test_a_large_export_arrives_complete_and_in_order_across_chunks(
    app: FastAPI, client: httpx.AsyncClient, anon: httpx.AsyncClient, settings: Settings
) -> None:
    me = await owner(client, settings)
    # 1,234 rows: more than two chunks of 500, with equal timestamps across a chunk edge.
    rows = [
        sms(me.account_id, me.user_id, body=f"message {i:04d}", created_at=T0 + i // 3)
        for i in range(1234)
    ]
    await insert(engine_of(app), messages, *rows)
    expected = [f"message {i:04d}" for i in range(1234)]

    orders = [
        ({}, expected),
        ({"order_by": "body:desc"}, expected[::-1]),
        # Every custom_string is NULL: all ties, so the default order decides.
        ({"order_by": "custom_string:asc"}, expected),
    ]
    for params, order in orders:
        url = (await client.get("/v3/sms/history/export", params=params)).json()["data"]["url"]
        table = list(csv.DictReader(io.StringIO((await anon.get(path_of(url))).text)))

        assert [row["body"] for row in table] == order


def test_the_sdk_reads_history_and_export_into_its_models(
    live_server: Any, settings: Settings
) -> None:
    async def seed() -> None:
        await insert_into(
            settings.database_url,
            messages,
            sms(1, 1, body="one", custom_string="ref", schedule=T0),
            reply(1, 1, body="two", created_at=T0 + 5),
        )

    # The owner is the first account and user on a fresh database.
    asyncio.run(seed())
    with sdk(live_server.url, settings) as api_client:
        api = clicksend.SmsApi(api_client)
        result = api.view_sms_history(page=1, limit=15, date_from=T0 - 1, date_to=T0 + 10)
        exported = api.export_sms_history(filename="history.csv", q="direction:out")

    assert isinstance(result, clicksend.ViewSmsHistory)
    assert result.data is not None and result.data.data is not None
    assert result.data.total == 2
    first, second = result.data.data
    assert isinstance(first, clicksend.ViewSmsHistoryDataAllOfDataInner)
    assert (first.body, first.var_date, first.message_parts) == ("one", T0, 1)
    assert first.status == "Delivered"
    assert first.schedule == str(T0)
    assert first.api_username == settings.owner_username
    assert (second.direction, second.status) == ("in", "Received")
    assert isinstance(exported, clicksend.ExportSmsHistory)
    assert exported.data is not None and exported.data.url is not None
    assert "/v3/sms/history/export/download?" in exported.data.url


async def test_a_configured_public_url_is_the_base_of_export_links(settings: Settings) -> None:
    application = create_app(settings.model_copy(update={"public_url": "https://sms.example"}))
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://testserver", auth=(OWNER, OWNER_KEY)
        ) as http:
            made = await http.get("/v3/sms/history/export")

    assert made.json()["data"]["url"].startswith(
        "https://sms.example/v3/sms/history/export/download?"
    )
