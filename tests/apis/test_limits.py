"""The checks at the door (`apis/limits.py`): text that is not valid Unicode and JSON nested
too deeply are refused before any handler runs, in each API family's error format."""

from __future__ import annotations

import json
import random
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from dovecote.apis import limits
from dovecote.apis.limits import (
    DEPTH_MESSAGE,
    MAX_JSON_DEPTH,
    UNICODE_MESSAGE,
    InvalidText,
    check_json_text,
    too_deep,
)
from dovecote.settings import Settings
from dovecote.storage.tables import messages, templates
from email_support import add_address, engine_of, owner_principal

SENDER = "me@example.com"
LONE = "\ud800"  # json.dumps writes it as the escape `\ud800`


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


# --- the checks themselves -----------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        b'{"a": "\\ud83d\\ude00"}',  # a pair: one emoji
        b'{"a": "\\uD83D\\uDE00"}',
        '{"a": "😀 é"}'.encode(),
        b'{"a": "\\\\ud800"}',  # a backslash, then the text "ud800"
        b'{"a": "\\\\\\\\udc00"}',
        b'{"a": "\\u00e9"}',
        b"",
        nested(MAX_JSON_DEPTH),
        b'{"a": ' + nested(MAX_JSON_DEPTH - 1) + b"}",
        b'["' + b"[" * 5000 + b'"]',  # brackets in a string are text
        b"[" + b"[1]," * 5000 + b"[2]]",
        b'{"a": "\xff\xfe"}',  # not UTF-8: left to the JSON decoder's own 400
    ],
)
def test_valid_text_and_shallow_json_pass(body: bytes) -> None:
    check_json_text(body)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"a": "\\ud800"}', UNICODE_MESSAGE),
        (b'{"a": "\\uDBFF x"}', UNICODE_MESSAGE),
        (b'{"a": "\\udc00"}', UNICODE_MESSAGE),  # a low half alone
        (b'{"a": "\\ude00\\ud83d"}', UNICODE_MESSAGE),  # halves in the wrong order
        (b'{"a": "\\\\\\ud800"}', UNICODE_MESSAGE),  # an escaped backslash, then the escape
        (b'{"a": "\\\\ud800\\udc00"}', UNICODE_MESSAGE),  # text "ud800", then a lone low
        (b'{"a": "\xed\xa0\x80"}', UNICODE_MESSAGE),  # U+D800 as UTF-8 bytes
        (nested(MAX_JSON_DEPTH + 1), DEPTH_MESSAGE),
        (b'{"a": ' + nested(MAX_JSON_DEPTH) + b"}", DEPTH_MESSAGE),
        (b'{"a":' * 2000 + b"1" + b"}" * 2000, DEPTH_MESSAGE),
    ],
)
def test_lone_surrogates_and_deep_nesting_are_refused(body: bytes, message: str) -> None:
    with pytest.raises(InvalidText) as refused:
        check_json_text(body)
    assert (refused.value.status_code, refused.value.detail) == (400, message)


def _depth(brackets: bytes) -> int:
    depth = peak = 0
    for char in brackets:
        depth += 1 if char == ord("[") else -1
        peak = max(peak, depth)
    return peak


def _balanced(rnd: random.Random, length: int, ceiling: int) -> bytes:
    out, depth = bytearray(), 0
    for _ in range(length):
        if depth == 0 or (depth < ceiling and rnd.random() < 0.5):
            out += b"["
            depth += 1
        else:
            out += b"]"
            depth -= 1
    return bytes(out + b"]" * depth)


def test_too_deep_is_exact_on_balanced_input_and_never_low_on_unbalanced() -> None:
    rnd = random.Random(20)
    for _ in range(3000):
        balanced = _balanced(rnd, rnd.randint(0, 1500), rnd.randint(1, 80))
        assert too_deep(balanced, 64) == (_depth(balanced) > 64), balanced
        weight = rnd.random()
        unbalanced = bytes(rnd.choices(b"[]", weights=[weight, 1 - weight], k=rnd.randint(0, 600)))
        if _depth(unbalanced) > 64:
            assert too_deep(unbalanced, 64), unbalanced


# --- over HTTP, per family -----------------------------------------------------------------


def raw(body: Any) -> bytes:
    return json.dumps(body).encode()  # ensure_ascii: a lone surrogate leaves as `\ud800`


async def count(app: FastAPI, table: sa.Table) -> int:
    async with engine_of(app).connect() as conn:
        query = sa.select(sa.func.count()).select_from(table)
        return int((await conn.execute(query)).scalar_one())


def assert_clicksend(response: httpx.Response, message: str) -> None:
    assert response.status_code == 400, response.text
    assert response.json()["http_code"] == 400
    assert response.json()["response_code"] == "BAD_REQUEST"
    assert response.json()["response_msg"] == message


def assert_sendgrid(response: httpx.Response, message: str) -> None:
    assert response.status_code == 400, response.text
    assert response.json() == {"errors": [{"field": None, "message": message}]}


def assert_emailverify(response: httpx.Response, message: str) -> None:
    assert response.status_code == 400, response.text
    assert response.json() == {"success": False, "message": message}


async def test_a_lone_surrogate_is_refused_in_clicksend_templates(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    headers = {"Content-Type": "application/json"}
    created = await client.post(
        "/v3/sms/templates", json={"template_name": "Fine", "body": "Hello"}
    )
    template_id = created.json()["data"]["template_id"]

    for method, path, body in (
        ("POST", "/v3/sms/templates", {"template_name": "T", "body": f"Hi {LONE}"}),
        ("POST", "/v3/sms/templates", {"template_name": LONE, "body": "Hi"}),
        ("PUT", f"/v3/sms/templates/{template_id}", {"template_name": "T", "body": LONE}),
        ("POST", "/v3/email/templates", {"template_name": LONE, "body": "<p>Hi</p>"}),
        ("POST", "/v3/email/templates", {"template_name": "T", "body": f"<p>{LONE}</p>"}),
    ):
        response = await client.request(method, path, content=raw(body), headers=headers)
        assert_clicksend(response, UNICODE_MESSAGE)
    # The same surrogate sent as UTF-8 bytes instead of an escape.
    cesu = b'{"template_name": "T", "body": "Hi \xed\xa0\x80"}'
    assert_clicksend(
        await client.post("/v3/sms/templates", content=cesu, headers=headers), UNICODE_MESSAGE
    )
    assert await count(app, templates) == 1
    kept = await client.get(f"/v3/sms/templates/{template_id}")
    assert kept.json()["data"]["body"] == "Hello"


async def test_a_lone_surrogate_in_an_email_is_refused_and_nothing_is_queued(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings
) -> None:
    engine = engine_of(app)
    me = await owner_principal(engine)
    address_id = await add_address(engine, me.account.id, me.user.id, SENDER)
    clicksend_email = {
        "to": [{"email": "john@example.net", "name": "John"}],
        "from": {"email_address_id": address_id, "name": "Me"},
        "subject": f"Hello {LONE}",
        "body": "<p>Hi</p>",
    }
    response = await client.post(
        "/v3/email/send", content=raw(clicksend_email), headers={"Content-Type": "application/json"}
    )
    assert_clicksend(response, UNICODE_MESSAGE)

    bearer = {"Authorization": f"Bearer {settings.owner_api_key}"}
    sendgrid_mail: dict[str, Any] = {
        "personalizations": [{"to": [{"email": "ann@example.net"}]}],
        "from": {"email": SENDER},
        "subject": f"Sale {LONE}",
        "content": [{"type": "text/plain", "value": "Hello -name-"}],
    }
    substituted: dict[str, Any] = {
        **sendgrid_mail,
        "subject": "Sale",
        "personalizations": [
            {"to": [{"email": "ann@example.net"}], "substitutions": {"-name-": LONE}}
        ],
    }
    for body in (sendgrid_mail, substituted):
        response = await client.post(
            "/v3/mail/send",
            content=raw(body),
            headers={**bearer, "Content-Type": "application/json"},
            auth=None,  # type: ignore[arg-type]  # no client Basic auth: the Bearer header stands
        )
        assert_sendgrid(response, UNICODE_MESSAGE)
    assert await count(app, messages) == 0


async def test_deep_json_is_refused_in_each_family_format(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings
) -> None:
    # ≈2,000 levels in 4 KB once ended in RecursionError, a 500.
    deep = b'{"email": ' + nested(2000) + b"}"
    bearer = {"Authorization": f"Bearer {settings.owner_api_key}"}
    json_type = {"Content-Type": "application/json"}
    for path in ("/sendCode", "/checkCode"):
        response = await client.post(path, content=deep, headers={**bearer, **json_type})
        assert_emailverify(response, DEPTH_MESSAGE)
    response = await client.post(
        "/v3/mail/send",
        content=deep,
        headers={**bearer, **json_type},
        auth=None,  # type: ignore[arg-type]  # no client Basic auth: the Bearer header stands
    )
    assert_sendgrid(response, DEPTH_MESSAGE)
    response = await client.post("/v3/sms/templates", content=deep, headers=json_type)
    assert_clicksend(response, DEPTH_MESSAGE)
    # Without a Content-Type too: FastAPI still reads such a body as JSON.
    response = await client.post("/v3/sms/send", content=b'{"messages": ' + nested(2000) + b"}")
    assert_clicksend(response, DEPTH_MESSAGE)
    # Nesting at the limit reaches the handler, which answers its own 400.
    shallow = b'{"email": ' + nested(MAX_JSON_DEPTH - 1) + b"}"
    response = await client.post("/sendCode", content=shallow, headers={**bearer, **json_type})
    assert response.status_code == 400
    assert response.json()["message"] != DEPTH_MESSAGE
    assert await count(app, messages) == 0


async def test_a_lone_surrogate_is_refused_by_emailverify_in_its_format(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    bearer = {"Authorization": f"Bearer {settings.owner_api_key}"}
    for path, body in (
        ("/sendCode", {"email": f"a{LONE}@example.com"}),
        ("/checkCode", {"email": "a@example.com", "code": f"12345{LONE}"}),
    ):
        response = await client.post(
            path, content=raw(body), headers={**bearer, "Content-Type": "application/json"}
        )
        assert_emailverify(response, UNICODE_MESSAGE)


async def test_a_body_split_across_chunks_is_checked_whole(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    body = raw({"template_name": "T", "body": "x" * 300 + LONE})

    async def chunks() -> Any:  # no Content-Length; the escape straddles two chunks
        for start in range(0, len(body), 101):
            yield body[start : start + 101]

    response = await client.post(
        "/v3/sms/templates", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert_clicksend(response, UNICODE_MESSAGE)
    assert await count(app, templates) == 0


@given(st.lists(st.sampled_from(list(b'[]{}"a ,:')), max_size=60).map(bytes))
@hypothesis_settings(max_examples=2000, deadline=None)
def test_without_a_backslash_strings_are_told_apart_as_the_escape_reading_pattern_does(
    body: bytes,
) -> None:
    # The quick reading (quotes and brackets alone) against the pattern that reads escapes.
    expected = limits._JSON_STRING.sub(b"", body).translate(None, limits._NOT_BRACKETS)
    assert limits._brackets_outside_strings(body) == expected


def test_brackets_inside_strings_of_a_long_body_do_not_count_as_nesting() -> None:
    inside = json.dumps([{"body": "[" * 100} for _ in range(100)]).encode()
    check_json_text(inside)
    outside = json.dumps([{"body": "x"}] * 100).encode()[:-1] + b"[" * 100 + b"]" * 101
    with pytest.raises(InvalidText, match="nested"):
        check_json_text(outside)
