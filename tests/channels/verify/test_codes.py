"""EmailVerify codes in the domain: generation, hashing, lifetime, attempts, isolation, events."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from fastapi import FastAPI
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import MovingWindowRateLimiter
from sqlalchemy.ext.asyncio import AsyncEngine

from dovecote.accounts import service as accounts
from dovecote.channels.email import suppressions
from dovecote.channels.email.system_mail import SystemMailer
from dovecote.channels.verify import codes as otp
from dovecote.core.errors import InvalidInput, RateLimited
from dovecote.core.models import Principal
from dovecote.runtime import Runtime
from dovecote.settings import Settings
from emailverify_support import (
    code_in,
    content,
    parse,
    parts,
    sent_code,
    verification,
    verify_events,
)

ADDRESS = "Alice@Example.com"
R = otp.CheckResult


class Verifier:
    """The owner's (or another account's) view of the domain functions, one transaction each."""

    def __init__(self, runtime: Runtime, principal: Principal, settings: Settings) -> None:
        self.engine: AsyncEngine = runtime.engine
        self.principal = principal
        self.settings = settings
        self.limiter = MovingWindowRateLimiter(MemoryStorage())
        self.log = runtime.events
        self.mail = SystemMailer(settings, runtime.events)

    async def send(self, address: str = ADDRESS, **kw: Any) -> otp.SentCode:
        async with self.engine.begin() as conn:
            return await otp.send_code(
                conn,
                self.principal,
                address,
                settings=self.settings,
                limiter=self.limiter,
                mail=self.mail,
                events=self.log,
                **kw,
            )

    async def check(self, code: str, address: str = ADDRESS, **kw: Any) -> otp.CheckResult:
        async with self.engine.begin() as conn:
            return await otp.check_code(
                conn,
                self.principal,
                address,
                code,
                settings=self.settings,
                limiter=self.limiter,
                events=self.log,
                **kw,
            )

    async def code(self, address: str = ADDRESS) -> str:
        return await sent_code(self.engine, self.principal.account.id, address)

    async def row(self, address: str = ADDRESS) -> Any:
        async with self.engine.connect() as conn:
            return await verification(conn, self.principal.account.id, address)

    async def events(self) -> list[tuple[str, str]]:
        async with self.engine.connect() as conn:
            rows = await verify_events(conn, self.principal.account.id)
        return [(row["type"], row["message_id"]) for row in rows]


@pytest.fixture
async def owner(app: FastAPI, settings: Settings) -> AsyncIterator[Verifier]:
    runtime: Runtime = app.state.runtime
    async with runtime.engine.begin() as conn:
        principal = await accounts.authenticate_bearer(conn, str(settings.owner_api_key))
    yield Verifier(runtime, principal, runtime.settings)


async def other_account(app: FastAPI, owner: Verifier) -> Verifier:
    runtime: Runtime = app.state.runtime
    async with runtime.engine.begin() as conn:
        created = await accounts.create_account(
            conn, username="second", login_password=False, balance_micros=1_000_000
        )
        principal = await accounts.authenticate_bearer(conn, created.api_key)
    return Verifier(runtime, principal, owner.settings)


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10 ** len(code):0{len(code)}d}"


# --- codes and hashes -------------------------------------------------------------------


@pytest.mark.parametrize("length", range(4, 11))
def test_it_makes_codes_of_the_requested_number_of_digits(length: int) -> None:
    codes = {otp.new_code(length) for _ in range(50)}

    assert all(len(code) == length and code.isdigit() for code in codes)
    assert len(codes) > 40  # random, not a counter or a constant


def test_it_keeps_leading_zeros(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(secrets, "randbelow", lambda bound: 42)

    assert otp.new_code(6) == "000042"


def test_it_keys_the_hash_with_the_secret_the_account_and_the_address() -> None:
    base = otp.hash_code("secret", 1, "a@example.com", "123456")

    assert base == otp.hash_code("secret", 1, "a@example.com", "123456")
    assert len(base) == 64 and "123456" not in base
    assert base != otp.hash_code("other-secret", 1, "a@example.com", "123456")
    assert base != otp.hash_code("secret", 2, "a@example.com", "123456")
    assert base != otp.hash_code("secret", 1, "b@example.com", "123456")
    assert base != otp.hash_code("secret", 1, "a@example.com", "123457")


# --- policy -------------------------------------------------------------------------------


def test_it_applies_valid_account_overrides_and_ignores_bad_ones(settings: Settings) -> None:
    from dataclasses import replace

    from dovecote.core.models import Account

    account = Account(
        id=1,
        name="",
        billing_email="",
        billing_mobile="",
        balance_micros=0,
        currency="USD",
        country="US",
        timezone="UTC",
        active=True,
        banned=False,
        sms_max_parts=6,
        unicode_sms=False,
        settings={},
        created_at=0,
    )
    assert otp.policy(settings, account) == otp.Policy(6, 600, 20, "Dovecote")
    custom = replace(
        account,
        settings={
            "otp_code_length": 8,
            "otp_ttl_seconds": 120,
            "otp_max_attempts": 5,
            "otp_brand_name": " Acme ",
        },
    )
    assert otp.policy(settings, custom) == otp.Policy(8, 120, 5, "Acme")
    broken = replace(
        account,
        settings={"otp_code_length": 11, "otp_ttl_seconds": "60", "otp_max_attempts": True},
    )
    assert otp.policy(settings, broken) == otp.Policy(6, 600, 20, "Dovecote")


async def test_it_validates_overrides_when_they_are_set(owner: Verifier) -> None:
    async with owner.engine.begin() as conn:
        for bad in (
            {"otp_code_length": 3},
            {"otp_code_length": 11},
            {"otp_ttl_seconds": 0},
            {"otp_max_attempts": "20"},
            {"otp_brand_name": ""},
            {"otp_colour": "red"},
        ):
            with pytest.raises(InvalidInput):
                await otp.configure(conn, owner.principal.account, bad, owner.settings)
        policy = await otp.configure(
            conn, owner.principal.account, {"otp_code_length": 4}, owner.settings
        )
    assert policy.code_length == 4


# --- sending --------------------------------------------------------------------------


async def test_it_mails_a_code_and_keeps_only_its_hash(owner: Verifier) -> None:
    sent = await owner.send()
    code = await owner.code()
    row = await owner.row()

    assert sent.email == "alice@example.com" and sent.message_id == row["message_id"]
    assert len(code) == 6 and code.isdigit()
    assert row["status"] == "pending" and row["attempts"] == 0 and row["max_attempts"] == 20
    assert 599 <= row["expires_at"] - time.time() <= 600
    assert code not in str(dict(row))
    assert row["code_hash"] == otp.hash_code(
        owner.settings.secret_key, owner.principal.account.id, "alice@example.com", code
    )


async def test_the_email_names_the_brand_and_the_lifetime(app: FastAPI, owner: Verifier) -> None:
    async with owner.engine.begin() as conn:
        principal = owner.principal
        await otp.configure(
            conn,
            principal.account,
            {"otp_brand_name": "Acme & Co", "otp_code_length": 8, "otp_ttl_seconds": 300},
            owner.settings,
        )
        owner.principal = await accounts.reload(conn, principal)
    await owner.send()
    async with owner.engine.connect() as conn:
        row = await verification(conn, owner.principal.account.id, ADDRESS)
        raw = await content(conn, row["message_id"])

    code = code_in(raw)
    assert len(code) == 8
    message = parse(raw)
    assert message["Subject"] == f"{code} is your Acme & Co verification code"
    assert "Acme &amp; Co" in parts(message)["text/html"]
    assert "5 minutes" in parts(message)["text/plain"]


async def test_it_refuses_malformed_and_suppressed_addresses(owner: Verifier) -> None:
    for bad in ("", "not-an-address", "a@", "@example.com", "a b@example.com", "a@b@c.com"):
        with pytest.raises(otp.UndeliverableAddress):
            await owner.send(bad)
    async with owner.engine.begin() as conn:
        await suppressions.add(
            conn, owner.principal.account.id, "bounced@example.com", "bounce", now=0
        )
    with pytest.raises(otp.UndeliverableAddress):
        await owner.send("Bounced@Example.com")
    assert await owner.events() == []


async def test_test_addresses_send_nothing_and_accept_123456(owner: Verifier) -> None:
    for address in ("test@test.com", "TEST1@test.com", "test2@test.com", "test3@test.com"):
        sent = await owner.send(address)
        assert sent.message_id is None
        assert await owner.row(address) is None
        assert await owner.check("123456", address) is R.APPROVED
        assert await owner.check("123456", address) is R.APPROVED  # a fixed path, every time
        assert await owner.check("654321", address) is R.WRONG_CODE
    assert await owner.events() == []


# --- checking ---------------------------------------------------------------------------


async def test_the_right_code_verifies_once(owner: Verifier) -> None:
    sent = await owner.send()
    code = await owner.code()

    assert await owner.check(code, "ALICE@example.com") is R.APPROVED
    assert await owner.check(code) is R.USED
    row = await owner.row()
    assert row["status"] == "approved" and row["verified_at"] is not None
    assert await owner.events() == [("sent", sent.message_id), ("approved", sent.message_id)]


async def test_an_unknown_address_has_no_code(owner: Verifier) -> None:
    assert await owner.check("123456", "nobody@example.com") is R.NO_CODE
    assert await owner.check("123456", "not an address") is R.NO_CODE


async def test_a_code_expires_after_its_lifetime(owner: Verifier) -> None:
    t0 = time.time()
    sent = await owner.send(now=t0)
    code = await owner.code()

    assert await owner.check(code, now=t0 + 601) is R.EXPIRED
    assert await owner.check(code, now=t0 + 602) is R.EXPIRED
    assert (await owner.row())["attempts"] == 0
    # One `expired` event, however many late checks.
    assert await owner.events() == [("sent", sent.message_id), ("expired", sent.message_id)]


async def test_a_code_is_valid_until_just_before_expiry(owner: Verifier) -> None:
    t0 = time.time()
    await owner.send(now=t0)

    assert await owner.check(await owner.code(), now=t0 + 599.9) is R.APPROVED


async def test_a_new_code_replaces_the_old_one_and_resets_attempts(owner: Verifier) -> None:
    await owner.send()
    first = await owner.code()
    for _ in range(3):
        assert await owner.check(wrong(first)) is R.WRONG_CODE
    assert (await owner.row())["attempts"] == 3

    await owner.send()
    second = await owner.code()
    row = await owner.row()

    assert row["attempts"] == 0 and row["status"] == "pending"
    if first != second:  # one chance in a million that they match
        assert await owner.check(first) is R.WRONG_CODE
    assert await owner.check(second) is R.APPROVED


async def test_twenty_wrong_checks_use_up_the_code(owner: Verifier) -> None:
    sent = await owner.send()
    code = await owner.code()

    results = [await owner.check(wrong(code)) for _ in range(20)]

    assert results == [R.WRONG_CODE] * 20
    assert await owner.check(code) is R.TOO_MANY_ATTEMPTS  # even the right code, now
    kinds = [kind for kind, _ in await owner.events()]
    assert kinds == ["sent", *["failed_attempt"] * 20, "max_attempts_reached"]
    assert {message for _, message in await owner.events()} == {sent.message_id}
    row = await owner.row()
    assert row["status"] == "max_attempts_reached" and row["attempts"] == 20


async def test_the_twentieth_check_may_still_be_the_right_one(owner: Verifier) -> None:
    await owner.send()
    code = await owner.code()
    for _ in range(19):
        await owner.check(wrong(code))

    assert await owner.check(code) is R.APPROVED


async def test_the_account_attempt_limit_applies(owner: Verifier) -> None:
    async with owner.engine.begin() as conn:
        await otp.configure(conn, owner.principal.account, {"otp_max_attempts": 3}, owner.settings)
        owner.principal = await accounts.reload(conn, owner.principal)
    await owner.send()
    code = await owner.code()

    assert [await owner.check(wrong(code)) for _ in range(4)] == [R.WRONG_CODE] * 3 + [
        R.TOO_MANY_ATTEMPTS
    ]


async def test_parallel_wrong_guesses_never_get_more_than_the_limit(owner: Verifier) -> None:
    # On PostgreSQL the checks really run at once, each in its own transaction; the
    # conditional UPDATE must still let exactly 20 of them compare.
    await owner.send()
    code = await owner.code()

    results = await asyncio.gather(*(owner.check(wrong(code)) for _ in range(30)))

    assert results.count(R.WRONG_CODE) == 20
    assert results.count(R.TOO_MANY_ATTEMPTS) == 10
    assert await owner.check(code) is R.TOO_MANY_ATTEMPTS
    row = await owner.row()
    assert row["attempts"] == 20 and row["status"] == "max_attempts_reached"
    kinds = [kind for kind, _ in await owner.events()]
    assert kinds.count("failed_attempt") == 20 and kinds.count("max_attempts_reached") == 1


async def test_parallel_right_guesses_verify_exactly_once(owner: Verifier) -> None:
    await owner.send()
    code = await owner.code()

    results = await asyncio.gather(*(owner.check(code) for _ in range(10)))

    assert results.count(R.APPROVED) == 1
    assert results.count(R.USED) == 9
    assert [kind for kind, _ in await owner.events()].count("approved") == 1


async def test_accounts_never_see_each_others_codes(app: FastAPI, owner: Verifier) -> None:
    other = await other_account(app, owner)
    await owner.send()
    await other.send()
    mine, theirs = await owner.code(), await other.code()
    mine_row, theirs_row = await owner.row(), await other.row()

    assert mine_row["id"] != theirs_row["id"]
    assert mine_row["code_hash"] != theirs_row["code_hash"]  # even were the codes equal
    if mine != theirs:
        assert await other.check(mine) is R.WRONG_CODE
    assert await owner.check(mine) is R.APPROVED
    assert (await other.row())["status"] == "pending"
    assert await other.check(theirs) is R.APPROVED
    assert await other.check("000000", "only-mine@example.com") is R.NO_CODE


# --- abuse controls ---------------------------------------------------------------------


async def test_sends_per_address_are_limited(owner: Verifier) -> None:
    owner.settings = owner.settings.model_copy(update={"otp_sends_per_address_per_hour": 2})
    await owner.send()
    await owner.send("ALICE@example.com")

    with pytest.raises(RateLimited) as refused:
        await owner.send()
    assert refused.value.retry_after > 0
    await owner.send("bob@example.com")  # another address has its own budget
    for _ in range(5):
        await owner.send("test@test.com")  # test addresses send nothing, so cost nothing


async def test_checks_per_account_are_limited(owner: Verifier) -> None:
    owner.settings = owner.settings.model_copy(update={"otp_checks_per_account_per_minute": 3})
    for _ in range(3):
        await owner.check("000000", "someone@example.com")

    with pytest.raises(RateLimited):
        await owner.check("123456", "test@test.com")
