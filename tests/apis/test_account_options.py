"""`/dovecote/accounts/{username}/options`: the owner reads and changes any account's
options as `dovecote accounts set` does; an account's main user reads its own; nobody
else; bad values are 400s that name the option, nothing half-written."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from dovecote.settings import Settings
from sms_support import as_caller, other_account, owner, subaccount


async def test_the_owner_changes_an_accounts_options_and_the_account_reads_them(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    stranger = await other_account(app.state.runtime.engine)
    path = f"/dovecote/accounts/{stranger.username}/options"
    changed = await client.patch(
        path,
        json={
            "email_activity_extended": True,
            "email_open_tracking": False,
            "sms_opt_out_keywords": ["STOP", "ARRET"],
            "otp_code_length": 8,
        },
    )
    assert changed.status_code == 200, changed.text
    options = changed.json()["data"]["options"]
    assert options["email_activity_extended"] is True
    assert options["email_open_tracking"] is False
    assert options["sms_opt_out_keywords"] == ["STOP", "ARRET"]

    async with as_caller(app, stranger) as theirs:
        read = await theirs.get(path)
        own_change = await theirs.patch(path, json={"email_activity_extended": False})
    assert read.json()["data"]["options"] == options
    assert own_change.status_code == 403

    cleared = await client.patch(path, json={"email_open_tracking": None})
    assert "email_open_tracking" not in cleared.json()["data"]["options"]


async def test_others_are_refused_and_bad_values_change_nothing(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings
) -> None:
    main = await owner(client, settings)
    sub = await subaccount(client, main, "helper", reporting=True)
    stranger = await other_account(app.state.runtime.engine)
    async with as_caller(app, stranger) as theirs:
        peek = await theirs.get(f"/dovecote/accounts/{settings.owner_username}/options")
    async with as_caller(app, sub) as helper:
        own = await helper.get(f"/dovecote/accounts/{sub.username}/options")
    assert (peek.status_code, own.status_code) == (403, 403)

    path = f"/dovecote/accounts/{stranger.username}/options"
    for body, field in (
        ({"email_activity_extended": "yes"}, "email_activity_extended"),
        ({"otp_code_length": 99}, "otp_code_length"),
        ({"no_such_option": True}, "no_such_option"),
        ({"email_open_tracking": {"on": True}}, "email_open_tracking"),
        ([], "body"),
    ):
        answer = await client.patch(path, json=body)
        assert answer.status_code == 400, (body, answer.text)
        assert field in answer.json()["response_msg"], answer.text
    assert (await client.get(path)).json()["data"]["options"] == {}
    missing = await client.get("/dovecote/accounts/nobody-here/options")
    assert missing.status_code == 404
