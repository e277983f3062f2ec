"""EmailVerify over HTTP: PayPI's exact bodies and status codes, the code in a real email,
limits, isolation, concurrency, and the published OpenAPI contract (schemathesis)."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI

from dispatch_support import deliver
from dovecote.accounts import service as accounts
from dovecote.app import create_app
from dovecote.runtime import Runtime
from dovecote.settings import Settings
from dovecote.storage.tables import messages
from email_support import smtp_relay, until
from emailverify_support import code_in, sent_code, verification, verify_events

SENT = b'{"success":true,"message":"Verification email sent"}'
SEND_FAILED = (
    b'{"success":false,"message":'
    b'"Unable to send email - please check the email address and try again"}'
)
VERIFIED = b'{"success":true,"message":"email successfully verified"}'
NOT_VALID = b'{"success":false,"message":"Given code is not valid"}'
TRIES_EXCEEDED = (
    b'{"success":false,"message":"Number of tries exceeded, please request a new code"}'
)
AUTH_INVALID = b'{"success":false,"message":"Authorization header value invalid"}'
BAD_JSON = b'{"success":false,"message":"Invalid request body - expected a JSON object"}'
CHECK_FIELDS = b'{"success":false,"message":"Invalid request body - email and code are required"}'

ADDRESS = "alice@example.com"
SPEC = (
    Path(__file__).resolve().parents[3] / "shared" / "reference" / "paypi-emailverify.openapi.yaml"
)


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def auth(settings: Settings) -> dict[str, str]:
    return bearer(str(settings.owner_api_key))


@pytest.fixture
def runtime(app: FastAPI) -> Runtime:
    result: Runtime = app.state.runtime
    return result


@pytest.fixture
async def owner_id(runtime: Runtime, settings: Settings) -> int:
    async with runtime.engine.connect() as conn:
        principal = await accounts.authenticate_bearer(conn, str(settings.owner_api_key))
    return principal.account.id


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10 ** len(code):0{len(code)}d}"


@asynccontextmanager
async def serving(
    settings: Settings, **changes: Any
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """An app built from `settings` with `changes`, and a client without credentials."""
    application = create_app(settings.model_copy(update=changes))
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield application, http


async def send_and_read_code(
    anon: httpx.AsyncClient,
    runtime: Runtime,
    headers: dict[str, str],
    account_id: int,
    address: str = ADDRESS,
) -> str:
    response = await anon.post("/sendCode", json={"email": address}, headers=headers)
    assert (response.status_code, response.content) == (200, SENT)
    assert await deliver(runtime.engine, runtime.settings) == 1
    return await sent_code(runtime.engine, account_id, address)


# --- the full flow ------------------------------------------------------------------------


async def test_the_code_arrives_in_the_sandbox_and_verifies_the_address(
    anon: httpx.AsyncClient, runtime: Runtime, auth: dict[str, str], owner_id: int
) -> None:
    response = await anon.post("/sendCode", json={"email": "Alice@Example.com"}, headers=auth)
    assert response.status_code == 200
    assert response.content == SENT
    assert response.headers["content-type"] == "application/json"

    assert await deliver(runtime.engine, runtime.settings) == 1
    async with runtime.engine.connect() as conn:
        row = await verification(conn, owner_id, ADDRESS)
        status = (
            await conn.execute(
                sa.select(messages.c.status).where(messages.c.id == row["message_id"])
            )
        ).scalar_one()
    assert status == "delivered"
    code = await sent_code(runtime.engine, owner_id, ADDRESS)

    response = await anon.post("/checkCode", json={"email": ADDRESS, "code": code}, headers=auth)
    assert (response.status_code, response.content) == (200, VERIFIED)

    # Single use: the same code does not verify twice.
    response = await anon.post("/checkCode", json={"email": ADDRESS, "code": code}, headers=auth)
    assert (response.status_code, response.content) == (200, NOT_VALID)

    async with runtime.engine.connect() as conn:
        logged = [(e["type"], e["message_id"]) for e in await verify_events(conn, owner_id)]
    assert logged == [("sent", row["message_id"]), ("approved", row["message_id"])]


async def test_the_code_arrives_at_a_real_smtp_relay(settings: Settings, owner_id: int) -> None:
    with smtp_relay() as relay:
        changes = {
            "email_transport": "smtp",
            "smtp_host": relay.host,
            "smtp_port": relay.port,
            "smtp_tls": "none",
            "otp_from_email": "codes@dovecote.example",
            "otp_brand_name": "Acme",
        }
        async with serving(settings, **changes) as (application, http):
            runtime: Runtime = application.state.runtime
            headers = bearer(str(settings.owner_api_key))
            response = await http.post("/sendCode", json={"email": ADDRESS}, headers=headers)
            assert (response.status_code, response.content) == (200, SENT)

            assert await deliver(runtime.engine, runtime.settings) == 1
            await until(lambda: len(relay.received) == 1)
            received = relay.received[0]
            assert received.recipients == [ADDRESS]
            assert received.sender == "codes@dovecote.example"
            code = code_in(received.data)
            assert code == await sent_code(runtime.engine, owner_id, ADDRESS)

            wrong_answer = await http.post(
                "/checkCode", json={"email": ADDRESS, "code": wrong(code)}, headers=headers
            )
            assert (wrong_answer.status_code, wrong_answer.content) == (200, NOT_VALID)
            right = await http.post(
                "/checkCode", json={"email": ADDRESS, "code": code}, headers=headers
            )
            assert (right.status_code, right.content) == (200, VERIFIED)


async def test_the_code_email_appears_in_email_activity(
    anon: httpx.AsyncClient, runtime: Runtime, auth: dict[str, str], owner_id: int
) -> None:
    await send_and_read_code(anon, runtime, auth, owner_id)

    response = await anon.get(
        "/v3/messages", params={"query": f'to_email="{ADDRESS}"', "limit": "10"}, headers=auth
    )

    assert response.status_code == 200, response.text
    found = response.json()["messages"]
    assert len(found) == 1
    assert found[0]["subject"].endswith("is your Dovecote verification code")
    assert found[0]["status"] == "delivered"


# --- exact answers --------------------------------------------------------------------------


async def test_a_wrong_code_is_not_valid(
    anon: httpx.AsyncClient, runtime: Runtime, auth: dict[str, str], owner_id: int
) -> None:
    code = await send_and_read_code(anon, runtime, auth, owner_id)

    response = await anon.post(
        "/checkCode", json={"email": ADDRESS, "code": wrong(code)}, headers=auth
    )

    assert (response.status_code, response.content) == (200, NOT_VALID)


async def test_a_check_without_a_sent_code_is_not_valid(
    anon: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    for body in (
        {"email": "never@example.com", "code": "123456"},
        {"email": "not an address", "code": "123456"},
        {"email": "never@example.com", "code": ""},
    ):
        response = await anon.post("/checkCode", json=body, headers=auth)
        assert (response.status_code, response.content) == (200, NOT_VALID)


async def test_the_twenty_first_check_is_refused_until_a_new_code_is_sent(
    anon: httpx.AsyncClient, runtime: Runtime, auth: dict[str, str], owner_id: int
) -> None:
    code = await send_and_read_code(anon, runtime, auth, owner_id)
    guess = {"email": ADDRESS, "code": wrong(code)}

    for _ in range(20):
        response = await anon.post("/checkCode", json=guess, headers=auth)
        assert (response.status_code, response.content) == (200, NOT_VALID)
    for body in (guess, {"email": ADDRESS, "code": code}):
        response = await anon.post("/checkCode", json=body, headers=auth)
        assert (response.status_code, response.content) == (403, TRIES_EXCEEDED)

    fresh = await send_and_read_code(anon, runtime, auth, owner_id)
    response = await anon.post("/checkCode", json={"email": ADDRESS, "code": fresh}, headers=auth)
    assert (response.status_code, response.content) == (200, VERIFIED)

    async with runtime.engine.connect() as conn:
        kinds = [e["type"] for e in await verify_events(conn, owner_id)]
    assert kinds == ["sent", *["failed_attempt"] * 20, "max_attempts_reached", "sent", "approved"]


async def test_a_new_code_replaces_the_old_one(
    anon: httpx.AsyncClient, runtime: Runtime, auth: dict[str, str], owner_id: int
) -> None:
    first = await send_and_read_code(anon, runtime, auth, owner_id)
    second = await send_and_read_code(anon, runtime, auth, owner_id)

    if first != second:  # one chance in a million that they match
        old = await anon.post("/checkCode", json={"email": ADDRESS, "code": first}, headers=auth)
        assert (old.status_code, old.content) == (200, NOT_VALID)
    new = await anon.post("/checkCode", json={"email": ADDRESS, "code": second}, headers=auth)
    assert (new.status_code, new.content) == (200, VERIFIED)


async def test_an_expired_code_is_not_valid(settings: Settings, owner_id: int) -> None:
    async with serving(settings, otp_ttl_seconds=1) as (application, http):
        runtime: Runtime = application.state.runtime
        headers = bearer(str(settings.owner_api_key))
        code = await send_and_read_code(http, runtime, headers, owner_id)
        await asyncio.sleep(1.1)

        response = await http.post(
            "/checkCode", json={"email": ADDRESS, "code": code}, headers=headers
        )

        assert (response.status_code, response.content) == (200, NOT_VALID)
        async with runtime.engine.connect() as conn:
            kinds = [e["type"] for e in await verify_events(conn, owner_id)]
        assert kinds == ["sent", "expired"]


async def test_invalid_addresses_are_refused(
    anon: httpx.AsyncClient, runtime: Runtime, auth: dict[str, str]
) -> None:
    for body in (
        {"email": "not-an-address"},
        {"email": ""},
        {"email": "a@b"},
        {"email": "two@at@example.com"},
        {"email": "x@localhost"},
        {"email": 12345},
        {"email": None},
        {},
        {"mail": ADDRESS},
    ):
        response = await anon.post("/sendCode", json=body, headers=auth)
        assert (response.status_code, response.content) == (400, SEND_FAILED), body
    async with runtime.engine.connect() as conn:
        assert (await conn.execute(sa.select(sa.func.count()).select_from(messages))).scalar() == 0


async def test_malformed_bodies_get_a_400_in_the_family_shape(
    anon: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    json_headers = {**auth, "Content-Type": "application/json"}
    for path in ("/sendCode", "/checkCode"):
        for raw in (b"", b"{", b"not json", b"[]", b'"a@b.com"', b"null", b"\xff\xfe"):
            response = await anon.post(path, content=raw, headers=json_headers)
            assert (response.status_code, response.content) == (400, BAD_JSON), (path, raw)
    for body in (
        {"email": ADDRESS},
        {"code": "123456"},
        {"email": ADDRESS, "code": None},
        {"email": ADDRESS, "code": True},
        {"email": ADDRESS, "code": ["1"]},
        {"email": ADDRESS, "code": 123456.0},
        {"email": ADDRESS, "code": {"code": "123456"}},
        {"email": 1, "code": "123456"},
    ):
        response = await anon.post("/checkCode", json=body, headers=auth)
        assert (response.status_code, response.content) == (400, CHECK_FIELDS), body


async def test_a_missing_or_wrong_key_is_refused(anon: httpx.AsyncClient) -> None:
    for headers in (
        {},
        {"Authorization": ""},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer "},
        bearer("00000000-0000-0000-0000-000000000000"),
        {"Authorization": "Token 0C0FFEE0-1234-4ABC-8DEF-000000000001"},
        {"Authorization": "Basic bm9ib2R5Om5vdGhpbmc="},
    ):
        for path, body in (
            ("/sendCode", {"email": ADDRESS}),
            ("/checkCode", {"email": ADDRESS, "code": "123456"}),
        ):
            response = await anon.post(path, json=body, headers=headers)
            assert (response.status_code, response.content) == (401, AUTH_INVALID), headers
    # Authentication comes first: a malformed body from a stranger is still a 401.
    response = await anon.post(
        "/sendCode", content=b"{", headers={"Content-Type": "application/json"}
    )
    assert (response.status_code, response.content) == (401, AUTH_INVALID)


async def test_a_banned_accounts_key_is_refused(anon: httpx.AsyncClient, runtime: Runtime) -> None:
    async with runtime.engine.begin() as conn:
        created = await accounts.create_account(
            conn, username="shunned", banned=True, login_password=False
        )

    response = await anon.post(
        "/sendCode", json={"email": ADDRESS}, headers=bearer(created.api_key)
    )

    assert (response.status_code, response.content) == (401, AUTH_INVALID)


@pytest.mark.parametrize("username", ["notactive", "nocredit"])
async def test_an_account_that_may_not_send_gets_no_code(
    anon: httpx.AsyncClient, runtime: Runtime, username: str
) -> None:
    # The spec's test accounts share one key, so Basic auth names the account.
    auth = httpx.BasicAuth(username, accounts.TEST_API_KEY)

    answers = [await anon.post("/sendCode", json={"email": ADDRESS}, auth=auth) for _ in range(3)]

    assert {(r.status_code, r.content) for r in answers} == {(401, AUTH_INVALID)}
    async with runtime.engine.connect() as conn:
        assert (await conn.execute(sa.select(sa.func.count()).select_from(messages))).scalar() == 0


async def test_other_methods_answer_405_in_the_family_shape(
    anon: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    response = await anon.get("/sendCode", headers=auth)

    assert response.status_code == 405
    assert response.json() == {"success": False, "message": "Method not allowed."}


# --- test addresses -------------------------------------------------------------------------


async def test_test_addresses_send_nothing_and_accept_123456(
    anon: httpx.AsyncClient, runtime: Runtime, auth: dict[str, str]
) -> None:
    for address in ("test@test.com", "test1@test.com", "Test2@Test.com", "test3@test.com"):
        response = await anon.post("/sendCode", json={"email": address}, headers=auth)
        assert (response.status_code, response.content) == (200, SENT)
        for code in ("123456", 123456):
            response = await anon.post(
                "/checkCode", json={"email": address, "code": code}, headers=auth
            )
            assert (response.status_code, response.content) == (200, VERIFIED)
        response = await anon.post(
            "/checkCode", json={"email": address, "code": "654321"}, headers=auth
        )
        assert (response.status_code, response.content) == (200, NOT_VALID)
    assert await deliver(runtime.engine, runtime.settings) == 0
    async with runtime.engine.connect() as conn:
        assert (await conn.execute(sa.select(sa.func.count()).select_from(messages))).scalar() == 0


# --- isolation, concurrency, limits ---------------------------------------------------------


async def test_accounts_never_see_each_others_codes(
    anon: httpx.AsyncClient, runtime: Runtime, auth: dict[str, str], owner_id: int
) -> None:
    async with runtime.engine.begin() as conn:
        created = await accounts.create_account(
            conn, username="second", login_password=False, balance_micros=1_000_000
        )
    other = bearer(created.api_key)

    mine = await send_and_read_code(anon, runtime, auth, owner_id)
    theirs = await send_and_read_code(anon, runtime, other, created.account.id)

    if mine != theirs:
        response = await anon.post(
            "/checkCode", json={"email": ADDRESS, "code": mine}, headers=other
        )
        assert (response.status_code, response.content) == (200, NOT_VALID)
    response = await anon.post("/checkCode", json={"email": ADDRESS, "code": mine}, headers=auth)
    assert (response.status_code, response.content) == (200, VERIFIED)
    response = await anon.post("/checkCode", json={"email": ADDRESS, "code": theirs}, headers=other)
    assert (response.status_code, response.content) == (200, VERIFIED)


async def test_parallel_wrong_guesses_never_get_a_twenty_first_check(
    anon: httpx.AsyncClient, runtime: Runtime, auth: dict[str, str], owner_id: int
) -> None:
    code = await send_and_read_code(anon, runtime, auth, owner_id)
    guess = {"email": ADDRESS, "code": wrong(code)}

    responses = await asyncio.gather(
        *(anon.post("/checkCode", json=guess, headers=auth) for _ in range(30))
    )

    answers = [(r.status_code, r.content) for r in responses]
    assert answers.count((200, NOT_VALID)) == 20
    assert answers.count((403, TRIES_EXCEEDED)) == 10
    response = await anon.post("/checkCode", json={"email": ADDRESS, "code": code}, headers=auth)
    assert (response.status_code, response.content) == (403, TRIES_EXCEEDED)


async def test_sends_to_one_address_are_limited_per_hour(settings: Settings) -> None:
    async with serving(settings, otp_sends_per_address_per_hour=2) as (_, http):
        headers = bearer(str(settings.owner_api_key))
        for _ in range(2):
            response = await http.post("/sendCode", json={"email": ADDRESS}, headers=headers)
            assert (response.status_code, response.content) == (200, SENT)

        response = await http.post("/sendCode", json={"email": ADDRESS}, headers=headers)

        assert response.status_code == 429
        assert response.json() == {
            "success": False,
            "message": "Too many codes sent to this address - please try again later",
        }
        assert 0 < int(response.headers["retry-after"]) <= 3600
        other = await http.post("/sendCode", json={"email": "bob@example.com"}, headers=headers)
        assert other.status_code == 200


async def test_checks_are_limited_per_account_per_minute(settings: Settings) -> None:
    async with serving(settings, otp_checks_per_account_per_minute=3) as (_, http):
        headers = bearer(str(settings.owner_api_key))
        body = {"email": "test@test.com", "code": "123456"}
        for _ in range(3):
            response = await http.post("/checkCode", json=body, headers=headers)
            assert (response.status_code, response.content) == (200, VERIFIED)

        response = await http.post("/checkCode", json=body, headers=headers)

        assert response.status_code == 429
        assert response.json() == {
            "success": False,
            "message": "Too many verification checks - please try again later",
        }
        assert 0 < int(response.headers["retry-after"]) <= 60


# --- the published contract -------------------------------------------------------------------


def adapted_spec() -> dict[str, Any]:
    """PayPI's document, with what it gets wrong or leaves out put right:

    - the sendCode 200 and 400 `message` are declared `boolean` but are strings (their own
      defaults are the strings "Verification email sent" and "Unable to send email …");
    - the fields the issue requires are marked required (a missing one is a 400);
    - `code` may be a string or an integer: the document's own default is the number
      123456, and Dovecote accepts both (any other type is a 400, tested by example);
    - the 400 of checkCode (malformed body) and the 429 of both (abuse limits) are declared.
    """
    import schemathesis

    spec: dict[str, Any] = copy.deepcopy(schemathesis.openapi.from_path(SPEC).raw_schema)
    spec["servers"] = [{"url": "/"}]
    reply = {
        "type": "object",
        "properties": {"success": {"type": "boolean"}, "message": {"type": "string"}},
        "required": ["success", "message"],
    }
    send = spec["paths"]["/sendCode"]["post"]
    check = spec["paths"]["/checkCode"]["post"]
    for status in ("200", "400"):
        send["responses"][status]["content"]["application/json"]["schema"] = copy.deepcopy(reply)
    send["requestBody"]["content"]["application/json"]["schema"]["required"] = ["email"]
    check_body = check["requestBody"]["content"]["application/json"]["schema"]
    check_body["required"] = ["email", "code"]
    check_body["properties"]["code"] = {"anyOf": [{"type": "string"}, {"type": "integer"}]}
    for operation in (send, check):
        for status in ("400", "429"):
            operation["responses"].setdefault(
                status,
                {"description": status, "content": {"application/json": {"schema": reply}}},
            )
    return spec


def fuzz(
    operation: Any,
    mode: Any,
    base_url: str,
    headers: dict[str, str],
    seen: dict[tuple[str, str], set[int]],
) -> None:
    """Up to 25 generated requests for one operation, each response checked against the spec."""
    import schemathesis
    from hypothesis import HealthCheck, given
    from hypothesis import settings as hypothesis_settings
    from schemathesis.checks import (
        content_type_conformance,
        negative_data_rejection,
        not_a_server_error,
        response_schema_conformance,
        status_code_conformance,
    )

    checks = [
        not_a_server_error,
        status_code_conformance,
        content_type_conformance,
        response_schema_conformance,
    ]
    if mode is schemathesis.GenerationMode.NEGATIVE:
        checks.append(negative_data_rejection)  # bad data must get a 4xx, not a 2xx

    @hypothesis_settings(
        max_examples=25, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        # Generated Bearer tokens are random, so the owner's key replaces them, except in a
        # case whose headers are the negated part: that one must get its 401.
        components = case.meta.components if case.meta is not None else {}
        negated_headers = any(
            location.value == "header" and info.mode is schemathesis.GenerationMode.NEGATIVE
            for location, info in components.items()
        )
        response = case.call(base_url=base_url, headers=None if negated_headers else headers)
        case.validate_response(response, checks=checks)
        seen.setdefault((case.path, mode.value), set()).add(response.status_code)

    run()


def test_the_server_conforms_to_the_paypi_contract(settings: Settings) -> None:
    from conftest import LiveServer

    # The abuse limits are tested on their own; here they would turn generated requests
    # for one address into 429s at random and make the contract run flaky.
    roomy = settings.model_copy(
        update={
            "otp_sends_per_address_per_hour": 100_000,
            "otp_checks_per_account_per_minute": 100_000,
            "system_mail_per_account_per_hour": 100_000,
        }
    )
    with LiveServer(roomy) as live_server:
        _check_contract(live_server, settings)


def _check_contract(live_server: Any, settings: Settings) -> None:
    import schemathesis
    from schemathesis.core.result import Ok

    schema = schemathesis.openapi.from_dict(adapted_spec())
    headers = bearer(str(settings.owner_api_key))
    seen: dict[tuple[str, str], set[int]] = {}
    for result in schema.get_all_operations():
        assert isinstance(result, Ok)
        for mode in (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE):
            fuzz(result.ok(), mode, live_server.url, headers, seen)
    # Both operations were exercised in both modes, and bad data was refused.
    assert set(seen) == {
        (path, mode) for path in ("/sendCode", "/checkCode") for mode in ("positive", "negative")
    }
    assert all(status < 500 for statuses in seen.values() for status in statuses)
    # Negated data or credentials are refused, never accepted.
    assert seen[("/sendCode", "negative")] <= {400, 401}
    assert seen[("/checkCode", "negative")] <= {400, 401}
    # And the 401 of the contract, from a caller without a key.
    unauthenticated = httpx.post(f"{live_server.url}/sendCode", json={"email": ADDRESS})
    assert (unauthenticated.status_code, unauthenticated.content) == (401, AUTH_INVALID)


# --- the account's event history (Dovecote's own route) ---------------------------------------


async def test_the_account_lists_its_verify_events_newest_first_and_filtered(
    anon: httpx.AsyncClient, auth: dict[str, str], runtime: Runtime, owner_id: int
) -> None:
    for address in (ADDRESS, "bob@example.com"):
        assert (await anon.post("/sendCode", json={"email": address}, headers=auth)).content == SENT
    code = await sent_code(runtime.engine, owner_id, ADDRESS)
    await anon.post("/checkCode", json={"email": ADDRESS, "code": wrong(code)}, headers=auth)
    await anon.post("/checkCode", json={"email": ADDRESS, "code": code}, headers=auth)

    everything = (await anon.get("/verifyEvents", headers=auth)).json()
    alice = (await anon.get(f"/verifyEvents?email={ADDRESS.upper()}", headers=auth)).json()
    approved = (await anon.get("/verifyEvents?event=approved", headers=auth)).json()
    paged = (await anon.get("/verifyEvents?limit=2&page=2", headers=auth)).json()

    assert everything["success"] is True and everything["total"] == 4
    assert [e["event"] for e in alice["events"]] == ["approved", "failed_attempt", "sent"]
    assert alice["events"][1]["attempts_left"] == 19
    assert [(e["event"], e["email"]) for e in approved["events"]] == [("approved", ADDRESS)]
    assert (paged["page"], paged["last_page"], len(paged["events"])) == (2, 2, 2)


async def test_verify_events_are_private_and_bad_filters_are_refused(
    anon: httpx.AsyncClient, auth: dict[str, str], runtime: Runtime
) -> None:
    assert (await anon.post("/sendCode", json={"email": ADDRESS}, headers=auth)).content == SENT
    async with runtime.engine.begin() as conn:
        stranger = await accounts.create_account(conn, username="stranger", password=None)

    theirs = await anon.get("/verifyEvents", headers=bearer(stranger.api_key))
    unknown = await anon.get("/verifyEvents?event=clicked", headers=auth)
    too_many = await anon.get("/verifyEvents?limit=1000", headers=auth)
    nobody = await anon.get("/verifyEvents")

    assert (theirs.status_code, theirs.json()["total"]) == (200, 0)
    assert unknown.status_code == 400 and unknown.json()["success"] is False
    assert "event must be one of" in unknown.json()["message"]
    assert too_many.status_code == 400 and too_many.json()["success"] is False
    assert (nobody.status_code, nobody.content) == (401, AUTH_INVALID)
