"""Own numbers (verified by an SMS code), alpha tags, default senders, compliant sender
types, and the check of an SMS's `from` against them."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import clicksend
import httpx
import pytest
import sqlalchemy as sa
from clicksend.exceptions import BadRequestException, NotFoundException, UnauthorizedException
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from dovecote import account_options
from dovecote.numbers import alpha_tags
from dovecote.settings import Settings
from dovecote.storage.db import create_engine
from dovecote.storage.tables import SYSTEM_SOURCE, messages
from numbers_support import load
from sms_support import as_caller, other_account, sdk

MOBILE = "+12025550143"


async def code_sent_to(engine: AsyncEngine, number: str) -> str:
    """The latest verification code texted to `number`, read from the queued SMS."""
    query = (
        sa.select(messages.c.body, messages.c.source, messages.c.price_micros)
        .where(messages.c.recipient == number)
        .order_by(messages.c.created_at.desc(), messages.c.id.desc())
    )
    async with engine.connect() as conn:
        body, source, price = (await conn.execute(query)).first() or ("", "", 0)
    assert (source, price) == (SYSTEM_SOURCE, 0)  # Dovecote's own SMS, free
    found = re.search(r"\b(\d{6})\b", body)
    assert found, body
    return found.group(1)


async def verify(app: FastAPI, client: httpx.AsyncClient, number: str = MOBILE) -> str:
    started = await client.post(
        "/v3/own-numbers/verifications", json={"phone_number": number, "label": "Mobile"}
    )
    assert started.status_code == 200, started.text
    code = await code_sent_to(app.state.runtime.engine, number)
    done = await client.post(
        f"/v3/own-numbers/verifications/{started.json()['id']}/verify", json={"code": code}
    )
    assert done.json()["status"] == "VERIFIED", done.text
    return str(started.json()["own_number_id"])


async def require_known_sender(app: FastAPI, settings: Settings, on: bool = True) -> None:
    async with app.state.runtime.engine.begin() as conn:
        assert settings.owner_username
        changes = {"sms_require_known_sender": on}
        await account_options.set_options(conn, settings.owner_username, changes, settings)


async def send(client: httpx.AsyncClient, to: str, sender: str | None) -> dict[str, Any]:
    message: dict[str, Any] = {"to": to, "body": f"Hello from {sender}"}
    if sender is not None:
        message["from"] = sender
    response = await client.post("/v3/sms/send", json={"messages": [message]})
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()["data"]["messages"][0]
    return result


# --- own numbers ------------------------------------------------------------------------


async def test_an_own_number_is_verified_by_the_code_texted_to_it(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    before = (await client.get("/v3/account")).json()["data"]["balance"]
    started = await client.post(
        "/v3/own-numbers/verifications",
        json={"phone_number": "(202) 555-0143", "country": "US", "label": "Mobile"},
    )
    assert started.status_code == 200, started.text
    pending = started.json()
    assert (pending["status"], pending["remaining_attempts"]) == ("PENDING", 5)
    code = await code_sent_to(app.state.runtime.engine, MOBILE)
    path = f"/v3/own-numbers/verifications/{pending['id']}/verify"

    wrong = await client.post(path, json={"code": "000000" if code != "000000" else "111111"})
    assert wrong.status_code == 400
    assert wrong.json()["response_msg"] == "The code is wrong; 4 attempts left."
    assert wrong.json()["data"]["remaining_attempts"] == 4
    right = await client.post(path, json={"code": code})
    assert right.status_code == 200, right.text
    assert right.json()["status"] == "VERIFIED"
    again = await client.post(path, json={"code": code})  # single use
    assert again.status_code == 400

    listed = (await client.get("/v3/own-numbers")).json()["own_numbers"]
    assert [(n["phone_number"], n["status"], n["label"]) for n in listed] == [
        (MOBILE, "VERIFIED", "Mobile")
    ]
    assert listed[0]["verified_timestamp"] is not None
    assert (await client.get("/v3/account")).json()["data"]["balance"] == before
    duplicate = await client.post("/v3/own-numbers/verifications", json={"phone_number": MOBILE})
    assert duplicate.status_code == 400
    assert "already verified" in duplicate.json()["response_msg"]


async def test_a_code_runs_out_of_attempts_and_then_never_matches(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    started = await client.post("/v3/own-numbers/verifications", json={"phone_number": MOBILE})
    code = await code_sent_to(app.state.runtime.engine, MOBILE)
    path = f"/v3/own-numbers/verifications/{started.json()['id']}/verify"
    wrong = "000000" if code != "000000" else "111111"

    answers = [await client.post(path, json={"code": wrong}) for _ in range(5)]
    late = await client.post(path, json={"code": code})

    assert [a.json()["data"]["remaining_attempts"] for a in answers] == [4, 3, 2, 1, 0]
    assert answers[-1].json()["data"]["status"] == "FAILED"
    assert late.status_code == 400
    assert late.json()["response_msg"] == "No attempts left; request a new code."
    mine = (await client.get("/v3/own-numbers")).json()["own_numbers"]
    assert mine[0]["status"] == "UNVERIFIED"


async def test_codes_to_one_number_are_capped_per_hour(client: httpx.AsyncClient) -> None:
    statuses = []
    for _ in range(6):
        response = await client.post("/v3/own-numbers/verifications", json={"phone_number": MOBILE})
        statuses.append(response.status_code)

    assert statuses == [200] * 5 + [429]


async def test_an_own_number_is_relabelled_and_deleted_by_its_account_only(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    own_id = await verify(app, client)
    path = f"/v3/own-numbers/{own_id}"

    relabelled = await client.patch(path, json={"label": "Office"})
    assert relabelled.json()["label"] == "Office"
    assert (await client.patch(path, json={"label": None})).status_code == 400
    stranger = await other_account(app.state.runtime.engine)
    async with as_caller(app, stranger) as theirs:
        assert (await theirs.get(path)).status_code == 404
        assert (await theirs.delete(path)).status_code == 404
    assert (await client.delete(path)).json()["phone_number"] == MOBILE
    assert (await client.get(path)).status_code == 404
    assert (await client.get("/v3/own-numbers")).json()["own_numbers"] == []


# --- alpha tags -------------------------------------------------------------------------


async def test_an_alpha_tag_follows_clicksends_sender_id_rules(client: httpx.AsyncClient) -> None:
    for bad in ["Eleven+Char", "Twelve12Char", "has space", "12345", "", "Dové"]:
        refused = await client.post("/v3/alpha-tags", json={"alpha_tag": bad, "countries": ["AU"]})
        assert refused.status_code == 400, bad
        assert refused.json()["response_code"] == "INVALID_SENDER_ID", bad
    no_country = await client.post("/v3/alpha-tags", json={"alpha_tag": "Dovecote"})
    assert no_country.status_code == 400

    created = await client.post(
        "/v3/alpha-tags",
        json={"alpha_tag": "Dovecote", "reason": "brand", "countries": ["au", "GB"]},
    )

    assert created.status_code == 200, created.text
    tag = created.json()
    assert (tag["alpha_tag"], tag["status"], tag["countries"]) == (
        "Dovecote",
        "APPROVED",
        ["AU", "GB"],
    )
    twice = await client.post("/v3/alpha-tags", json={"alpha_tag": "Dovecote", "countries": ["AU"]})
    assert twice.status_code == 400
    await client.post("/v3/alpha-tags", json={"alpha_tag": "Second", "countries": ["AU"]})
    listed = await client.get("/v3/alpha-tags", params={"sort_direction": "desc"})
    assert [t["alpha_tag"] for t in listed.json()["alpha_tags"]] == ["Second", "Dovecote"]
    path = f"/v3/alpha-tags/{tag['id']}"
    assert (await client.get(path)).json() == tag
    assert (await client.delete(path)).status_code == 200
    assert (await client.get(path)).status_code == 404


async def test_without_auto_approval_a_tag_waits_for_the_operator(
    settings: Settings, client: httpx.AsyncClient, app: FastAPI
) -> None:
    app.state.runtime.settings = settings.model_copy(update={"alpha_tags_auto_approve": False})
    created = await client.post(
        "/v3/alpha-tags", json={"alpha_tag": "Waiting", "countries": ["AU"]}
    )
    assert created.json()["status"] == "PENDING"

    async with app.state.runtime.engine.begin() as conn:
        reviewed = await alpha_tags.review(conn, created.json()["id"], "approved")

    assert reviewed.status == "APPROVED"
    assert (await client.get(f"/v3/alpha-tags/{reviewed.id}")).json()["status"] == "APPROVED"


# --- the sender check -------------------------------------------------------------------


async def test_any_well_formed_sender_passes_while_the_check_is_off(
    client: httpx.AsyncClient,
) -> None:
    assert (await send(client, "+12025550199", "Anything"))["status"] == "SUCCESS"


async def test_with_the_check_on_only_the_accounts_numbers_and_tags_may_send(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings
) -> None:
    await load(app)
    assert (await client.post("/v3/numbers/buy/+12025550101")).status_code == 200
    await verify(app, client)
    await client.post("/v3/alpha-tags", json={"alpha_tag": "Dovecote", "countries": ["US"]})
    app.state.runtime.settings = settings.model_copy(update={"alpha_tags_auto_approve": False})
    await client.post("/v3/alpha-tags", json={"alpha_tag": "Pending", "countries": ["US"]})
    await require_known_sender(app, settings)
    before = (await client.get("/v3/account")).json()["data"]["balance"]

    results = {
        sender: (await send(client, "+12025550199", sender))["status"]
        for sender in [
            "+12025550101",
            "2025550101",
            MOBILE,
            "Dovecote",
            "DOVECOTE",
            "",
            "Pending",
            "Stranger",
            "+12025550188",
        ]
    }

    assert results == {
        "+12025550101": "SUCCESS",
        "2025550101": "SUCCESS",
        MOBILE: "SUCCESS",
        "Dovecote": "SUCCESS",
        "DOVECOTE": "SUCCESS",
        "": "SUCCESS",
        "Pending": "INVALID_SENDER_ID",
        "Stranger": "INVALID_SENDER_ID",
        "+12025550188": "INVALID_SENDER_ID",
    }
    # Refused messages are neither charged nor queued: six sent at 0.029 each.
    after = (await client.get("/v3/account")).json()["data"]["balance"]
    assert round(float(before) - float(after), 6) == pytest.approx(6 * 0.029)
    await require_known_sender(app, settings, on=False)
    assert (await send(client, "+12025550199", "Stranger"))["status"] == "SUCCESS"


# --- default senders --------------------------------------------------------------------


async def test_a_default_sender_fills_an_empty_from_for_its_country(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await load(app)
    await client.post("/v3/numbers/buy/+13105550123")
    tag = (
        await client.post("/v3/alpha-tags", json={"alpha_tag": "Dovecote", "countries": ["AU"]})
    ).json()
    strategies = [
        {"sender_type": "alpha_tag", "sender_id": tag["id"], "note": "brand first"},
        {"sender_type": "tollfree", "sender_id": "+13105550123"},
    ]

    created = await client.post(
        "/v3/senders/default-senders",
        json={"country_code": "us", "product_type": "SMS", "default_sender_strategies": strategies},
    )

    assert created.status_code == 200, created.text
    item = created.json()["data"]
    assert item["country_code"] == "US"
    assert [(s["sender_type"], s["priority"]) for s in item["default_sender_strategies"]] == [
        ("alpha_tag", 1),
        ("tollfree", 2),
    ]
    assert (await send(client, "+12025550199", None))["from"] == "Dovecote"
    assert (await send(client, "+12025550199", "Mine"))["from"] == "Mine"
    assert (await send(client, "+61400000000", None))["from"] == ""  # no default for AU
    await client.delete(f"/v3/alpha-tags/{tag['id']}")  # the next strategy takes over
    assert (await send(client, "+12025550198", None))["from"] == "+13105550123"

    path = f"/v3/senders/default-senders/{item['id']}"
    patched = await client.patch(
        path,
        json={
            "default_sender_strategies": [{"sender_type": "shared_longcode", "sender_id": "shared"}]
        },
    )
    assert patched.status_code == 200, patched.text
    assert (await send(client, "+12025550197", None))["from"] == ""
    listed = (await client.get("/v3/senders/default-senders")).json()["data"]
    assert [d["id"] for d in listed["data"]] == [item["id"]]
    assert (await client.delete(path)).status_code == 200
    assert (await client.get(path)).status_code == 404


async def test_a_default_sender_must_name_senders_the_account_may_use(
    client: httpx.AsyncClient,
) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"country_code": "XX", "product_type": "SMS"}, "country_code"),
        ({"country_code": "US", "product_type": "MMS"}, "product_type"),
        (
            {"country_code": "US", "product_type": "SMS", "default_sender_strategies": []},
            "default_sender_strategies",
        ),
        (
            {
                "country_code": "US",
                "product_type": "SMS",
                "default_sender_strategies": [{"sender_type": "pigeon", "sender_id": "x"}],
            },
            "sender_type",
        ),
        (
            {
                "country_code": "US",
                "product_type": "SMS",
                "default_sender_strategies": [{"sender_type": "alpha_tag", "sender_id": "NotMine"}],
            },
            "sender_id",
        ),
    ]
    for body, field in cases:
        response = await client.post("/v3/senders/default-senders", json=body)
        assert response.status_code == 400, body
        assert field in response.json()["response_msg"], body
    assert (await client.get("/v3/senders/default-senders")).json()["data"]["data"] == []


async def test_compliant_sender_types_block_alpha_tags_in_the_us(client: httpx.AsyncClient) -> None:
    response = await client.get(
        "/v3/senders/compliant-sender-types?filter[product_type]=SMS"
        "&filter[country_code][0]=US&filter[country_code][1]=AU"
    )

    assert response.status_code == 200, response.text
    us, au = response.json()["data"]["data"]
    assert (us["recipient_country_code"], au["recipient_country_code"]) == ("US", "AU")
    assert "alpha_tag" in us["blocked_sender_types"]
    assert "alpha_tag" in [a["sender_type"] for a in au["allowed_sender_types"]]
    bad = await client.get("/v3/senders/compliant-sender-types?filter[product_type]=FAX")
    assert bad.status_code == 400


# --- SDK 6 ------------------------------------------------------------------------------


def test_the_sdk_manages_own_numbers_alpha_tags_and_default_senders(
    live_server: Any, settings: Settings
) -> None:
    engine = create_engine(settings.database_url)
    with sdk(live_server.url, settings) as api_client:
        own = clicksend.OwnNumbersApi(api_client)
        started = own.request_own_number_verification_otp(
            request_own_number_verification_otp_request=clicksend.RequestOwnNumberVerificationOtpRequest(
                phone_number=MOBILE, label="Mobile"
            )
        )
        assert started.status == "PENDING" and started.id
        code = asyncio.run(_code_then_dispose(engine, MOBILE))
        with pytest.raises(BadRequestException):
            own.verify_own_number_otp(
                started.id,
                verify_own_number_otp_request=clicksend.VerifyOwnNumberOtpRequest(code="x"),
            )
        done = own.verify_own_number_otp(
            started.id, verify_own_number_otp_request=clicksend.VerifyOwnNumberOtpRequest(code=code)
        )
        assert done.status == "VERIFIED"
        listed = own.list_own_numbers()
        assert listed.own_numbers and listed.own_numbers[0].phone_number == MOBILE
        own_id = str(listed.own_numbers[0].id)
        assert own.get_own_number_detail(own_id).status == "VERIFIED"

        tags = clicksend.AlphaTagsApi(api_client)
        tag = tags.request_alpha_tag(
            request_alpha_tag_request=clicksend.RequestAlphaTagRequest(
                alpha_tag="Dovecote", reason="brand", countries=["AU"]
            )
        )
        assert tag.status == "APPROVED" and tag.id
        assert [t.alpha_tag for t in tags.list_alpha_tags(page_size=10).alpha_tags or []] == [
            "Dovecote"
        ]
        assert tags.get_alpha_tag(tag.id).alpha_tag == "Dovecote"

        defaults = clicksend.DefaultSendersApi(api_client)
        strategy = clicksend.CreateDefaultSenderRequestDefaultSenderStrategiesInner(
            sender_type="own_number", sender_id=own_id
        )
        created = defaults.create_default_sender(
            create_default_sender_request=clicksend.CreateDefaultSenderRequest(
                country_code="US", product_type="SMS", default_sender_strategies=[strategy]
            )
        )
        default_id = created.data.id
        other = clicksend.CreateDefaultSenderRequestDefaultSenderStrategiesInner(
            sender_type="alpha_tag", sender_id="Dovecote"
        )
        updated = defaults.update_default_sender(
            default_id,
            update_default_sender_request=clicksend.UpdateDefaultSenderRequest(
                default_sender_strategies=[other]  # SDK 6 allows one
            ),
        )
        assert [s.sender_type for s in updated.data.default_sender_strategies] == ["alpha_tag"]
        assert defaults.get_default_sender_details(default_id).data.country_code == "US"
        assert [d.id for d in defaults.get_default_senders_list().data.data or []] == [default_id]
        types = defaults.list_compliant_sender_types("SMS", filter_country_code_index=["US"])
        assert types.data.data[0].recipient_country_code == "US"
        defaults.delete_default_sender(default_id)
        with pytest.raises(NotFoundException):
            defaults.get_default_sender_details(default_id)

        tags.delete_alpha_tag(tag.id)
        # SDK 6's update_own_number sends neither a body nor credentials: a 401, rightly.
        with pytest.raises(UnauthorizedException):
            own.update_own_number(own_id)
        assert own.delete_own_number(own_id).phone_number == MOBILE
        assert own.list_own_numbers().own_numbers == []


async def _code_then_dispose(engine: AsyncEngine, number: str) -> str:
    try:
        return await code_sent_to(engine, number)
    finally:
        await engine.dispose()
