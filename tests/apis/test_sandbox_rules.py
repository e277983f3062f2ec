"""`/dovecote/sandbox/rules`: an account's scripted sandbox outcomes, changed at runtime.
A stored rule decides the next SMS the running worker hands to the sandbox (ahead of the
settings' rules, for that account only); bad rules are 400s in ClickSend's envelope that
write nothing; only users with `access_settings` reach them."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from dispatch_support import dispatcher
from dovecote.pipeline.dispatcher import Dispatcher
from dovecote.pipeline.transports import registry
from dovecote.settings import Settings
from sms_support import as_caller, other_account, owner, subaccount

HANDSET = "+12025550142"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # The server's own rule, which an account's stored rules come before; every batch
    # checks the scripts' version so the test needs no waiting.
    return settings.model_copy(
        update={"sandbox_rules": ["+1202=expired"], "sandbox_refresh_seconds": 0}
    )


async def _started(app: FastAPI, settings: Settings) -> Dispatcher:
    """A dispatcher with the wired sandboxes, started as the worker starts them."""
    running = dispatcher(app.state.runtime.engine, settings)
    await registry.start(running.transports, running.pushed())
    return running


async def _send(client: httpx.AsyncClient, body: str) -> str:
    # Distinct bodies: the same text to the same number again is throttled as a duplicate.
    sent = await client.post(
        "/v3/sms/send", json={"messages": [{"to": HANDSET, "body": body, "from": "Clinic"}]}
    )
    assert sent.status_code == 200, sent.text
    return str(sent.json()["data"]["messages"][0]["message_id"])


async def _status(client: httpx.AsyncClient, message_id: str) -> tuple[str, Any]:
    rows = (await client.get("/v3/sms/history")).json()["data"]["data"]
    row = next(r for r in rows if r["message_id"] == message_id)
    return row["status"], row["status_code"]


async def _dispatch(running: Dispatcher) -> None:
    while await running.run_once():  # send, then settle (receipt delay 0)
        pass


async def test_a_stored_rule_decides_the_next_sms_without_a_restart(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings
) -> None:
    running = await _started(app, settings)
    try:
        before = await _send(client, "Message 1")
        await _dispatch(running)
        added = await client.post(
            "/dovecote/sandbox/rules",
            json={"type": "rule", "prefix": "+1202555", "outcome": "failed:302"},
        )
        assert added.status_code == 200, added.text
        rule = added.json()["data"]
        assert (rule["type"], rule["outcome"], rule["line"]) == (
            "rule",
            "failed:302",
            "+1202555=failed:302",
        )
        after = await _send(client, "Message 2")
        await _dispatch(running)
        assert (await _status(client, before))[0] == "Expired"  # the settings' rule
        assert await _status(client, after) == ("Failed", "302")  # the account's, first

        removed = await client.delete(f"/dovecote/sandbox/rules/{rule['id']}")
        assert removed.status_code == 200
        again = await _send(client, "Message 3")
        await _dispatch(running)
        assert (await _status(client, again))[0] == "Expired"
    finally:
        await running.close()


async def test_an_accounts_rules_and_replies_are_its_own(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings
) -> None:
    stranger = await other_account(app.state.runtime.engine)
    await client.post("/dovecote/sandbox/rules", json={"prefix": "+1202", "outcome": "reject"})
    reply = await client.post(
        "/dovecote/sandbox/rules",
        json={"type": "auto_reply", "prefix": "+1202555", "text": "See you then"},
    )
    assert reply.json()["data"]["text"] == "See you then"
    running = await _started(app, settings)
    try:
        async with as_caller(app, stranger) as theirs:
            theirs_id = await _send(theirs, "Message 4")
            listed = await theirs.get("/dovecote/sandbox/rules")
            peek = await theirs.delete(f"/dovecote/sandbox/rules/{reply.json()['data']['id']}")
            await _dispatch(running)
            assert (await _status(theirs, theirs_id))[0] == "Expired"
        assert listed.json()["data"]["data"] == []
        assert peek.status_code == 404
        mine = await _send(client, "Message 5")
        await _dispatch(running)
        assert (await _status(client, mine))[0] == "Failed"
    finally:
        await running.close()


async def test_a_rule_is_edited_in_place(client: httpx.AsyncClient) -> None:
    first = (
        await client.post("/dovecote/sandbox/rules", json={"prefix": "+1", "outcome": "expired"})
    ).json()["data"]
    second = (
        await client.post("/dovecote/sandbox/rules", json={"prefix": "+2", "outcome": "reject"})
    ).json()["data"]
    changed = await client.put(
        f"/dovecote/sandbox/rules/{first['id']}", json={"prefix": "+15", "outcome": "delay: 2.5"}
    )
    assert changed.status_code == 200, changed.text
    listed = (await client.get("/dovecote/sandbox/rules")).json()["data"]["data"]
    assert [r["line"] for r in listed] == ["+15=delay:2.5", "+2=reject"]
    assert [r["id"] for r in listed] == [first["id"], second["id"]]


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"prefix": "+1555", "outcome": "explode"}, "not a sandbox outcome"),
        ({"prefix": "+1555", "outcome": "failed:abc"}, "not a sandbox outcome"),
        ({"prefix": "", "outcome": "failed"}, "prefix must not be empty"),
        ({"prefix": "+1=5", "outcome": "failed"}, "without '='"),
        ({"prefix": "+1" * 40, "outcome": "failed"}, "at most 64"),
        ({"type": "auto_reply", "prefix": "+1555", "text": " "}, "text must be"),
        ({"type": "chaos", "prefix": "+1555", "outcome": "failed"}, "type"),
        ({"prefix": "+1555", "outcome": "failed", "extra": 1}, "extra"),
    ],
)
async def test_bad_rules_are_400s_that_write_nothing(
    client: httpx.AsyncClient, body: dict[str, Any], says: str
) -> None:
    refused = await client.post("/dovecote/sandbox/rules", json=body)
    assert refused.status_code == 400, refused.text
    assert refused.json()["response_code"] == "BAD_REQUEST"
    assert says in refused.json()["response_msg"]
    assert (await client.get("/dovecote/sandbox/rules")).json()["data"]["data"] == []


async def test_users_without_access_settings_are_refused(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings
) -> None:
    main = await owner(client, settings)
    helper = await subaccount(client, main, "helper", reporting=True)
    revoked = await client.put(f"/v3/subaccounts/{helper.user_id}", json={"access_settings": 0})
    assert revoked.status_code == 200, revoked.text
    async with as_caller(app, helper) as theirs:
        read = await theirs.get("/dovecote/sandbox/rules")
        write = await theirs.post(
            "/dovecote/sandbox/rules", json={"prefix": "+1", "outcome": "reject"}
        )
    assert (read.status_code, write.status_code) == (403, 403)
    assert "access_settings" in read.json()["response_msg"]
    missing = await client.delete("/dovecote/sandbox/rules/999")
    assert missing.status_code == 404
