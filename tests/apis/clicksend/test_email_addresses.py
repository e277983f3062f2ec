"""`/v3/email/addresses` and `/v3/email/address-verify`: the SDK 6.0.2 round trip, the
verification email and its token, permissions, tenant isolation, bad input."""

from __future__ import annotations

import asyncio
import email
import email.policy
import hashlib
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from email.message import EmailMessage
from typing import Any

import clicksend
import httpx
import pytest
import sqlalchemy as sa
from clicksend.exceptions import BadRequestException, NotFoundException
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from dovecote.accounts.service import create_account
from dovecote.app import create_app
from dovecote.settings import Settings
from dovecote.storage.db import create_engine
from dovecote.storage.tables import email_addresses, message_content

TOKEN = re.compile(r"Activation token: ([A-Za-z0-9_-]+)")


def sdk(url: str, username: str | None, key: str | None) -> clicksend.ApiClient:
    return clicksend.ApiClient(clicksend.Configuration(host=url, username=username, password=key))


@asynccontextmanager
async def login(app: FastAPI, username: str, key: str) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://testserver", auth=(username, key)
    ) as http:
        yield http


async def add(client: httpx.AsyncClient, address: str) -> dict[str, Any]:
    response = await client.post("/v3/email/addresses", json={"email_address": address})
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


async def subaccount(client: httpx.AsyncClient, username: str, **flags: int) -> dict[str, Any]:
    response = await client.post(
        "/v3/subaccounts",
        json={
            "api_username": username,
            "password": "s3cret-password",
            "email": f"{username}@example.com",
            "phone_number": "+61411111111",
            "first_name": "Sub",
            "last_name": "Account",
            **flags,
        },
    )
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


async def sent_emails(engine: AsyncEngine) -> list[EmailMessage]:
    """Every built email, oldest first (message ids are UUIDv7, so they sort by time)."""
    async with engine.connect() as conn:
        query = sa.select(message_content.c.content).order_by(message_content.c.message_id)
        contents = list((await conn.execute(query)).scalars())
    return [
        email.message_from_bytes(content, _class=EmailMessage, policy=email.policy.default)
        for content in contents
    ]


def token_in(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None, "the verification email has no plain-text part"
    found = TOKEN.search(part.get_content())
    assert found is not None, "the verification email carries no activation token"
    return found.group(1)


async def stored_row(app: FastAPI, address_id: int) -> Any:
    async with app.state.runtime.engine.connect() as conn:
        query = sa.select(email_addresses).where(email_addresses.c.id == address_id)
        return (await conn.execute(query)).mappings().one()


def test_the_sdk_creates_lists_reads_and_deletes_an_allowed_address(
    live_server: Any, settings: Settings
) -> None:
    with sdk(live_server.url, settings.owner_username, settings.owner_api_key) as client:
        api = clicksend.EmailApi(client)
        request = clicksend.CreateAllowedEmailAddressRequest(email_address="Sender@Example.COM")
        created = api.create_allowed_email_address(create_allowed_email_address_request=request)
        assert created.data is not None and created.data.email_address_id is not None
        address_id = created.data.email_address_id
        listed = api.view_allowed_email_addresses()
        fetched = api.view_allowed_email_address(str(address_id))
        deleted = api.delete_allowed_email_address(str(address_id))
        with pytest.raises(NotFoundException):
            api.view_allowed_email_address(str(address_id))
        with pytest.raises(BadRequestException):
            api.create_allowed_email_address(
                create_allowed_email_address_request=clicksend.CreateAllowedEmailAddressRequest(
                    email_address="not an address"
                )
            )

    assert isinstance(created, clicksend.CreateAllowedEmailAddress)
    assert created.data.email_address == "Sender@example.com"
    assert created.data.verified == 0
    assert created.data.date_added is not None and created.data.date_added.isdigit()
    assert listed.data is not None and listed.data.data is not None
    assert listed.data.total == 1
    assert (listed.data.per_page, listed.data.current_page, listed.data.last_page) == (15, 1, 1)
    assert [a.email_address_id for a in listed.data.data] == [address_id]
    assert fetched.data is not None and fetched.data.email_address == "Sender@example.com"
    assert deleted.response_code == "SUCCESS" and deleted.data is None


def test_the_sdk_sends_a_verification_token_and_verifies_the_address_with_it(
    live_server: Any, settings: Settings
) -> None:
    with sdk(live_server.url, settings.owner_username, settings.owner_api_key) as client:
        api = clicksend.EmailApi(client)
        created = api.create_allowed_email_address(
            create_allowed_email_address_request=clicksend.CreateAllowedEmailAddressRequest(
                email_address="verify-me@example.com"
            )
        )
        assert created.data is not None and created.data.email_address_id is not None
        address_id = str(created.data.email_address_id)
        sent = api.send_email_verification_token(address_id)

        async def read_token() -> str:
            engine = create_engine(settings.database_url)
            try:
                return token_in((await sent_emails(engine))[-1])
            finally:
                await engine.dispose()

        token = asyncio.run(read_token())
        with pytest.raises(BadRequestException):
            api.verify_allowed_email_address(address_id, "wrong-token")
        verified = api.verify_allowed_email_address(address_id, token)

    assert isinstance(sent, clicksend.SendEmailVerificationToken)
    assert sent.response_code == "SUCCESS"
    assert isinstance(verified, clicksend.VerifyAllowedEmailAddress)
    assert verified.data is not None
    assert verified.data.verified == 1
    assert verified.data.email_address == "verify-me@example.com"


async def test_the_verification_email_is_addressed_to_the_address_and_its_token_verifies_it(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings
) -> None:
    address = await add(client, "owner@example.com")
    address_id = address["email_address_id"]

    sent = await client.put(f"/v3/email/address-verify/{address_id}/send")
    [message] = await sent_emails(app.state.runtime.engine)
    token = token_in(message)
    verified = await client.put(f"/v3/email/address-verify/{address_id}/verify/{token}")
    again = await client.put(f"/v3/email/address-verify/{address_id}/verify/{token}")

    assert sent.status_code == 200, sent.text
    assert sent.json() == {
        "http_code": 200,
        "response_code": "SUCCESS",
        "response_msg": "Verification email has been sent.",
        "data": None,
    }
    assert message["To"] == "owner@example.com"
    assert message["Subject"] == "Verify your sender address"
    plain = message.get_body(preferencelist=("plain",))
    assert plain is not None
    assert f"/v3/email/address-verify/{address_id}/verify/{token}" in plain.get_content()
    assert verified.status_code == 200, verified.text
    assert verified.json()["data"] == {**address, "verified": 1}
    assert again.status_code == 200  # a retried request still succeeds
    assert (await client.get(f"/v3/email/addresses/{address_id}")).json()["data"]["verified"] == 1


async def test_the_mailed_link_ignores_the_callers_host_header(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings
) -> None:
    # A Host header is the caller's to choose: a mailed link built from it would send the
    # recipient's token to the caller's server. Mailed links use the configured base.
    address_id = (await add(client, "victim@example.com"))["email_address_id"]

    await client.put(
        f"/v3/email/address-verify/{address_id}/send", headers={"Host": "evil.example"}
    )

    plain = (await sent_emails(app.state.runtime.engine))[-1].get_body(preferencelist=("plain",))
    assert plain is not None
    assert f"{settings.public_base()}/v3/email/address-verify/{address_id}/verify/" in (
        plain.get_content()
    )
    assert "evil.example" not in plain.get_content()


async def test_only_a_hash_of_the_token_is_stored(app: FastAPI, client: httpx.AsyncClient) -> None:
    address_id = (await add(client, "hashed@example.com"))["email_address_id"]
    await client.put(f"/v3/email/address-verify/{address_id}/send")
    token = token_in((await sent_emails(app.state.runtime.engine))[-1])

    row = await stored_row(app, address_id)

    assert token not in row["token_hash"]
    assert row["token_hash"] == hashlib.sha256(token.encode()).hexdigest()


async def test_a_new_token_replaces_the_previous_one(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    address_id = (await add(client, "twice@example.com"))["email_address_id"]
    await client.put(f"/v3/email/address-verify/{address_id}/send")
    await client.put(f"/v3/email/address-verify/{address_id}/send")
    first, second = [token_in(m) for m in await sent_emails(app.state.runtime.engine)]

    stale = await client.put(f"/v3/email/address-verify/{address_id}/verify/{first}")
    fresh = await client.put(f"/v3/email/address-verify/{address_id}/verify/{second}")

    assert first != second
    assert stale.status_code == 400
    assert fresh.status_code == 200 and fresh.json()["data"]["verified"] == 1


async def test_a_wrong_token_is_refused_and_changes_nothing(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    address_id = (await add(client, "careful@example.com"))["email_address_id"]
    never_sent = await client.put(f"/v3/email/address-verify/{address_id}/verify/guess")
    await client.put(f"/v3/email/address-verify/{address_id}/send")
    before = await stored_row(app, address_id)

    wrong = await client.put(f"/v3/email/address-verify/{address_id}/verify/not-the-token")

    for response in (never_sent, wrong):
        assert response.status_code == 400
        assert response.json()["response_code"] == "BAD_REQUEST"
        assert "activation token" in response.json()["response_msg"]
    assert await stored_row(app, address_id) == before
    assert not before["verified"]


async def test_a_verified_address_stays_verified_after_a_wrong_token(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    address_id = (await add(client, "steady@example.com"))["email_address_id"]
    await client.put(f"/v3/email/address-verify/{address_id}/send")
    token = token_in((await sent_emails(app.state.runtime.engine))[-1])
    await client.put(f"/v3/email/address-verify/{address_id}/verify/{token}")

    wrong = await client.put(f"/v3/email/address-verify/{address_id}/verify/nope")
    resend = await client.put(f"/v3/email/address-verify/{address_id}/send")

    assert wrong.status_code == 400
    assert resend.status_code == 400  # nothing left to verify, so no new email
    assert "already verified" in resend.json()["response_msg"]
    assert len(await sent_emails(app.state.runtime.engine)) == 1
    assert (await client.get(f"/v3/email/addresses/{address_id}")).json()["data"]["verified"] == 1


async def test_creating_an_address_sends_nothing_and_leaves_it_unverified(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    created = await add(client, "quiet@example.com")

    assert created["verified"] == 0
    assert await sent_emails(app.state.runtime.engine) == []
    assert (await stored_row(app, created["email_address_id"]))["token_hash"] is None


async def test_the_domain_is_lower_cased_and_the_local_part_kept(
    client: httpx.AsyncClient,
) -> None:
    created = await add(client, "  Jane.Doe@Mail.Example.ORG ")

    assert created["email_address"] == "Jane.Doe@mail.example.org"


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"email_address": ""},
        {"email_address": "   "},
        {"email_address": "not-an-address"},
        {"email_address": "two@@example.com"},
        {"email_address": "nodot@localhost"},
        {"email_address": "reserved@example.test"},
        {"email_address": None},
    ],
)
async def test_a_missing_or_invalid_address_is_refused_naming_the_field(
    client: httpx.AsyncClient, body: dict[str, Any]
) -> None:
    response = await client.post("/v3/email/addresses", json=body)

    assert response.status_code == 400
    assert response.json()["response_code"] == "BAD_REQUEST"
    assert "email_address" in response.json()["response_msg"]
    assert (await client.get("/v3/email/addresses")).json()["data"]["total"] == 0


async def test_a_duplicate_address_is_refused_whatever_its_case(client: httpx.AsyncClient) -> None:
    await add(client, "dup@example.com")

    again = await client.post("/v3/email/addresses", json={"email_address": "DUP@Example.com"})

    assert again.status_code == 400
    assert "already exists" in again.json()["response_msg"]
    assert (await client.get("/v3/email/addresses")).json()["data"]["total"] == 1


async def test_an_unknown_address_is_not_found_and_a_malformed_id_is_a_bad_request(
    client: httpx.AsyncClient,
) -> None:
    responses = [
        await client.get("/v3/email/addresses/999"),
        await client.delete("/v3/email/addresses/999"),
        await client.put("/v3/email/address-verify/999/send"),
        await client.put("/v3/email/address-verify/999/verify/abc"),
    ]
    malformed = await client.get("/v3/email/addresses/abc")

    for response in responses:
        assert response.status_code == 404, response.request.url
        assert response.json()["response_code"] == "NOT_FOUND"
    assert malformed.status_code == 400


async def test_another_account_cannot_see_or_touch_this_accounts_addresses(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    mine = await add(client, "mine@example.com")
    address_id = mine["email_address_id"]
    async with app.state.runtime.engine.begin() as conn:
        intruder = await create_account(conn, username="intruder", balance_micros=1_000_000)

    async with login(app, "intruder", intruder.api_key) as as_intruder:
        attempts = {
            "read": await as_intruder.get(f"/v3/email/addresses/{address_id}"),
            "delete": await as_intruder.delete(f"/v3/email/addresses/{address_id}"),
            "send": await as_intruder.put(f"/v3/email/address-verify/{address_id}/send"),
            "verify": await as_intruder.put(f"/v3/email/address-verify/{address_id}/verify/x"),
        }
        listed = (await as_intruder.get("/v3/email/addresses")).json()["data"]
        # The same address in another account is that account's own business.
        theirs = await as_intruder.post(
            "/v3/email/addresses", json={"email_address": "mine@example.com"}
        )

    for action, response in attempts.items():
        assert response.status_code == 404, action
    assert listed["total"] == 0
    assert theirs.status_code == 200
    assert (await client.get(f"/v3/email/addresses/{address_id}")).json()["data"] == mine
    assert await sent_emails(app.state.runtime.engine) == []


async def test_a_subaccount_without_access_email_is_forbidden(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    address_id = (await add(client, "team@example.com"))["email_address_id"]
    bob = await subaccount(client, "bob", access_email=0)

    async with login(app, "bob", bob["api_key"]) as as_bob:
        attempts = [
            await as_bob.get("/v3/email/addresses"),
            await as_bob.post("/v3/email/addresses", json={"email_address": "bob@example.com"}),
            await as_bob.get(f"/v3/email/addresses/{address_id}"),
            await as_bob.delete(f"/v3/email/addresses/{address_id}"),
            await as_bob.put(f"/v3/email/address-verify/{address_id}/send"),
            await as_bob.put(f"/v3/email/address-verify/{address_id}/verify/x"),
        ]

    for response in attempts:
        assert response.status_code == 403, response.request.url
        assert response.json()["response_code"] == "FORBIDDEN"
    assert (await client.get("/v3/email/addresses")).json()["data"]["total"] == 1


async def test_a_subaccount_with_access_email_shares_the_accounts_addresses(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await add(client, "shared@example.com")
    carol = await subaccount(client, "carol", access_email=1)

    async with login(app, "carol", carol["api_key"]) as as_carol:
        listed = (await as_carol.get("/v3/email/addresses")).json()["data"]
        added = await as_carol.post(
            "/v3/email/addresses", json={"email_address": "carol@example.com"}
        )

    assert [a["email_address"] for a in listed["data"]] == ["shared@example.com"]
    assert added.status_code == 200
    assert (await client.get("/v3/email/addresses")).json()["data"]["total"] == 2


async def test_addresses_are_searched_ordered_and_paged(client: httpx.AsyncClient) -> None:
    for n in range(17):
        await add(client, f"user{n:02d}@example.com")
    await add(client, "someone@other.example")

    first = (await client.get("/v3/email/addresses")).json()["data"]
    second = (await client.get("/v3/email/addresses", params={"page": 2})).json()["data"]
    found = await client.get("/v3/email/addresses", params={"q": "email_address:OTHER.example"})
    ordered = await client.get(
        "/v3/email/addresses", params={"order_by": "email_address:desc", "limit": 100}
    )
    unknown = await client.get("/v3/email/addresses", params={"q": "token_hash:abc"})

    assert (first["total"], first["last_page"], len(first["data"])) == (18, 2, 15)
    assert first["next_page_url"] is not None and first["prev_page_url"] is None
    assert (second["from"], second["to"], len(second["data"])) == (16, 18, 3)
    assert [a["email_address"] for a in found.json()["data"]["data"]] == ["someone@other.example"]
    names = [a["email_address"] for a in ordered.json()["data"]["data"]]
    assert names == sorted(names, reverse=True)
    assert unknown.status_code == 400


async def test_addresses_need_credentials(anon: httpx.AsyncClient) -> None:
    responses = [
        await anon.get("/v3/email/addresses"),
        await anon.post("/v3/email/addresses", json={"email_address": "a@example.com"}),
        await anon.put("/v3/email/address-verify/1/send"),
    ]

    for response in responses:
        assert response.status_code == 401


# --- who may trigger verification email, and how much ---------------------------------------

TEST_KEY = "D83DED51-9E35-4D42-9BB9-0E34B7CA85AE"  # the spec's test accounts share it


@asynccontextmanager
async def serving(settings: Settings, **changes: Any) -> AsyncIterator[httpx.AsyncClient]:
    """The owner's client on an app built with `changes` to the settings."""
    application = create_app(settings.model_copy(update=changes))
    async with (
        application.router.lifespan_context(application),
        login(application, str(settings.owner_username), str(settings.owner_api_key)) as http,
    ):
        yield http


@pytest.mark.parametrize(
    ("username", "status", "code"),
    [("nocredit", 400, "INSUFFICIENT_CREDIT"), ("notactive", 403, "ACCOUNT_NOT_ACTIVATED")],
)
async def test_an_account_that_may_not_send_gets_no_verification_email(
    app: FastAPI, username: str, status: int, code: str
) -> None:
    async with login(app, username, TEST_KEY) as http:
        address_id = (await add(http, "victim@example.com"))["email_address_id"]
        answers = [await http.put(f"/v3/email/address-verify/{address_id}/send") for _ in range(15)]

    assert {(r.status_code, r.json()["response_code"]) for r in answers} == {(status, code)}
    assert await sent_emails(app.state.runtime.engine) == []
    assert (await stored_row(app, address_id))["token_hash"] is None


async def test_verification_emails_to_one_address_are_limited_per_hour(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    address_id = (await add(client, "victim@example.com"))["email_address_id"]
    other_id = (await add(client, "other@example.com"))["email_address_id"]
    sent = [await client.put(f"/v3/email/address-verify/{address_id}/send") for _ in range(5)]
    before = await stored_row(app, address_id)

    refused = await client.put(f"/v3/email/address-verify/{address_id}/send")
    other = await client.put(f"/v3/email/address-verify/{other_id}/send")

    assert [r.status_code for r in sent] == [200] * 5
    assert refused.status_code == 429
    assert refused.json()["http_code"] == 429
    assert refused.json()["response_code"] == "TOO_MANY_REQUESTS"
    assert 0 < int(refused.headers["retry-after"]) <= 3600
    assert other.status_code == 200
    emails = await sent_emails(app.state.runtime.engine)
    assert [m["To"] for m in emails] == ["victim@example.com"] * 5 + ["other@example.com"]
    # The refused request changed nothing: the fifth email's token still verifies.
    assert await stored_row(app, address_id) == before
    token = token_in(emails[4])
    verified = await client.put(f"/v3/email/address-verify/{address_id}/verify/{token}")
    assert verified.status_code == 200


async def test_all_system_mail_an_account_triggers_is_capped_per_hour(
    settings: Settings,
) -> None:
    async with serving(settings, system_mail_per_account_per_hour=3) as http:
        ids = [(await add(http, f"a{n}@example.com"))["email_address_id"] for n in range(3)]
        verifications = [
            await http.put(f"/v3/email/address-verify/{address_id}/send") for address_id in ids[:2]
        ]
        code = await http.post("/sendCode", json={"email": "user@example.com"})
        refused = await http.put(f"/v3/email/address-verify/{ids[2]}/send")
        refused_code = await http.post("/sendCode", json={"email": "user2@example.com"})

    assert [r.status_code for r in verifications] == [200, 200]
    assert code.status_code == 200
    assert refused.status_code == 429
    assert refused.json()["response_code"] == "TOO_MANY_REQUESTS"
    assert 0 < int(refused.headers["retry-after"]) <= 3600
    assert refused_code.status_code == 429
    assert refused_code.json()["success"] is False


# --- activation tokens expire -------------------------------------------------------------


async def issued_ago(app: FastAPI, address_id: int, seconds: int | None) -> None:
    """Move the address's token issue time `seconds` into the past (None: unknown)."""
    async with app.state.runtime.engine.begin() as conn:
        row = (
            await conn.execute(
                sa.select(email_addresses.c.token_issued_at).where(
                    email_addresses.c.id == address_id
                )
            )
        ).one()
        issued = None if seconds is None else int(row[0]) - seconds
        await conn.execute(
            email_addresses.update()
            .where(email_addresses.c.id == address_id)
            .values(token_issued_at=issued)
        )


async def test_an_activation_token_expires_after_a_day_and_a_new_one_can_be_asked_for(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings
) -> None:
    assert settings.email_address_token_ttl == 24 * 3600
    address_id = (await add(client, "late@example.com"))["email_address_id"]
    await client.put(f"/v3/email/address-verify/{address_id}/send")
    old = token_in((await sent_emails(app.state.runtime.engine))[-1])
    await issued_ago(app, address_id, 24 * 3600)

    expired = await client.put(f"/v3/email/address-verify/{address_id}/verify/{old}")
    resent = await client.put(f"/v3/email/address-verify/{address_id}/send")
    fresh = token_in((await sent_emails(app.state.runtime.engine))[-1])
    stale = await client.put(f"/v3/email/address-verify/{address_id}/verify/{old}")
    verified = await client.put(f"/v3/email/address-verify/{address_id}/verify/{fresh}")

    assert expired.status_code == 400
    assert expired.json()["response_code"] == "BAD_REQUEST"
    assert "expired" in expired.json()["response_msg"]
    assert "request a new verification email" in expired.json()["response_msg"]
    assert resent.status_code == 200
    assert stale.status_code == 400  # replaced by the new one
    assert verified.status_code == 200 and verified.json()["data"]["verified"] == 1


async def test_an_activation_token_works_until_just_before_it_expires(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings
) -> None:
    address_id = (await add(client, "prompt@example.com"))["email_address_id"]
    await client.put(f"/v3/email/address-verify/{address_id}/send")
    token = token_in((await sent_emails(app.state.runtime.engine))[-1])
    await issued_ago(app, address_id, settings.email_address_token_ttl - 60)

    verified = await client.put(f"/v3/email/address-verify/{address_id}/verify/{token}")

    assert verified.status_code == 200, verified.text


async def test_a_token_without_an_issue_time_counts_as_expired(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    # Tokens mailed before migration 0008 kept no issue time.
    address_id = (await add(client, "legacy@example.com"))["email_address_id"]
    await client.put(f"/v3/email/address-verify/{address_id}/send")
    token = token_in((await sent_emails(app.state.runtime.engine))[-1])
    await issued_ago(app, address_id, None)

    response = await client.put(f"/v3/email/address-verify/{address_id}/verify/{token}")

    assert response.status_code == 400
    assert "expired" in response.json()["response_msg"]
    assert not (await stored_row(app, address_id))["verified"]
