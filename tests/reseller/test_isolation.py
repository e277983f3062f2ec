"""A reseller's client never reaches its reseller's or a sibling client's data, and a
reseller never reaches another reseller's clients: every id-taking endpoint is tried
with the other party's ids, and the other party's data is checked unchanged after."""

from __future__ import annotations

import time
from dataclasses import dataclass

import httpx
from fastapi import FastAPI

from reseller_support import Login, create_client, login, new_reseller


@dataclass
class Owned:
    """Ids of what one account holds."""

    user_id: int
    list_id: int
    contact_id: int
    sms_template_id: int
    email_template_id: int
    message_id: str
    subaccount_id: int


async def _fill(http: httpx.AsyncClient, tag: str) -> Owned:
    """A contact list with a contact, templates, a scheduled SMS and a subaccount."""

    async def data(response: httpx.Response) -> dict[str, object]:
        assert response.status_code == 200, response.text
        found: dict[str, object] = response.json()["data"]
        return found

    me = await data(await http.get("/v3/account"))
    listed = await data(await http.post("/v3/lists", json={"list_name": f"{tag} list"}))
    contact = await data(
        await http.post(
            f"/v3/lists/{listed['list_id']}/contacts", json={"phone_number": "+12025550123"}
        )
    )
    sms_template = await data(
        await http.post("/v3/sms/templates", json={"template_name": tag, "body": "Hi"})
    )
    email_template = await data(
        await http.post("/v3/email/templates", json={"template_name": tag, "body": "<p>Hi</p>"})
    )
    later = int(time.time()) + 3600
    sent = await data(
        await http.post(
            "/v3/sms/send",
            json={"messages": [{"to": "+12025550124", "body": tag, "schedule": later}]},
        )
    )
    messages = sent["messages"]
    assert isinstance(messages, list)
    sub = await data(
        await http.post(
            "/v3/subaccounts",
            json={
                "api_username": f"{tag}-clerk",
                "password": "clerk-password",
                "email": f"{tag}@example.com",
                "phone_number": "+61411111111",
                "first_name": "C",
                "last_name": "K",
            },
        )
    )
    return Owned(
        user_id=int(str(me["user_id"])),
        list_id=int(str(listed["list_id"])),
        contact_id=int(str(contact["contact_id"])),
        sms_template_id=int(str(sms_template["template_id"])),
        email_template_id=int(str(email_template["template_id"])),
        message_id=str(messages[0]["message_id"]),
        subaccount_id=int(str(sub["subaccount_id"])),
    )


async def _attempts(http: httpx.AsyncClient, other: Owned) -> list[tuple[str, httpx.Response]]:
    """Every endpoint that takes one of `other`'s ids, called by `http`'s account."""
    png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
    calls = {
        "GET list": http.get(f"/v3/lists/{other.list_id}"),
        "PUT list": http.put(f"/v3/lists/{other.list_id}", json={"list_name": "mine"}),
        "DELETE list": http.delete(f"/v3/lists/{other.list_id}"),
        "export list": http.get(f"/v3/lists/{other.list_id}/export", params={"filename": "x"}),
        "GET contacts": http.get(f"/v3/lists/{other.list_id}/contacts"),
        "POST contact": http.post(
            f"/v3/lists/{other.list_id}/contacts", json={"phone_number": "+12025550199"}
        ),
        "GET contact": http.get(f"/v3/lists/{other.list_id}/contacts/{other.contact_id}"),
        "PUT contact": http.put(
            f"/v3/lists/{other.list_id}/contacts/{other.contact_id}", json={"first_name": "X"}
        ),
        "DELETE contact": http.delete(f"/v3/lists/{other.list_id}/contacts/{other.contact_id}"),
        "GET sms template": http.get(f"/v3/sms/templates/{other.sms_template_id}"),
        "PUT sms template": http.put(
            f"/v3/sms/templates/{other.sms_template_id}", json={"template_name": "x", "body": "x"}
        ),
        "DELETE sms template": http.delete(f"/v3/sms/templates/{other.sms_template_id}"),
        "GET email template": http.get(f"/v3/email/templates/{other.email_template_id}"),
        "PUT email template": http.put(
            f"/v3/email/templates/{other.email_template_id}", json={"body": "x"}
        ),
        "DELETE email template": http.delete(f"/v3/email/templates/{other.email_template_id}"),
        "template image": http.post(
            f"/v3/email/templates-images/{other.email_template_id}", json={"image": png}
        ),
        "GET receipt": http.get(f"/v3/sms/receipts/{other.message_id}"),
        "cancel sms": http.put(f"/v3/sms/{other.message_id}/cancel"),
        "GET subaccount": http.get(f"/v3/subaccounts/{other.subaccount_id}"),
        "PUT subaccount": http.put(f"/v3/subaccounts/{other.subaccount_id}", json={"notes": "x"}),
        "DELETE subaccount": http.delete(f"/v3/subaccounts/{other.subaccount_id}"),
        "regen key": http.put(f"/v3/subaccounts/{other.subaccount_id}/regen-api-key"),
        "GET main user": http.get(f"/v3/subaccounts/{other.user_id}"),
        "GET client": http.get(f"/v3/reseller/accounts/{other.user_id}"),
        "PUT client": http.put(
            f"/v3/reseller/accounts/{other.user_id}", json={"account_name": "taken over"}
        ),
        "transfer": http.put(
            "/v3/reseller/transfer-credit",
            json={"client_user_id": other.user_id, "balance": 1, "currency": "USD"},
        ),
    }
    return [(name, await call) for name, call in calls.items()]


async def _unchanged(http: httpx.AsyncClient, mine: Owned, tag: str) -> None:
    listed = await http.get(f"/v3/lists/{mine.list_id}")
    assert listed.json()["data"]["list_name"] == f"{tag} list"
    contact = await http.get(f"/v3/lists/{mine.list_id}/contacts/{mine.contact_id}")
    assert contact.status_code == 200 and contact.json()["data"]["first_name"] in ("", None)
    assert (await http.get(f"/v3/sms/templates/{mine.sms_template_id}")).status_code == 200
    template = await http.get(f"/v3/email/templates/{mine.email_template_id}")
    assert template.json()["data"]["template_name"] == tag
    sub = await http.get(f"/v3/subaccounts/{mine.subaccount_id}")
    assert sub.status_code == 200 and sub.json()["data"]["notes"] is None
    history = (await http.get("/v3/sms/history")).json()["data"]["data"]
    assert [m["status"] for m in history if m["message_id"] == mine.message_id] == [
        "Queued"
    ]  # not cancelled


def _refused(results: list[tuple[str, httpx.Response]]) -> None:
    leaked = [
        (name, r.status_code, r.text[:120])
        for name, r in results
        if r.status_code not in (403, 404)
    ]
    assert not leaked, leaked


async def test_a_client_never_reaches_its_resellers_or_a_siblings_data(app: FastAPI) -> None:
    reseller = await new_reseller(app, "acme", balance="50")
    async with login(app, reseller) as http:
        bob = await create_client(http, "bob")
        carol = await create_client(http, "carol")
        for client in (bob, carol):
            await http.put(
                "/v3/reseller/transfer-credit",
                json={"client_user_id": client.user_id, "balance": 5, "currency": "USD"},
            )
        reseller_data = await _fill(http, "acme")
        reseller_balance = (await http.get("/v3/account")).json()["data"]["balance"]
    async with login(app, carol) as as_carol:
        carol_data = await _fill(as_carol, "carol")
        carol_balance = (await as_carol.get("/v3/account")).json()["data"]["balance"]

    async with login(app, bob) as as_bob:
        against_reseller = await _attempts(as_bob, reseller_data)
        against_sibling = await _attempts(as_bob, carol_data)
        own_reseller_views = [
            await as_bob.get("/v3/reseller"),
            await as_bob.get("/v3/reseller/accounts"),
        ]
        bob_lists = (await as_bob.get("/v3/lists")).json()["data"]["total"]
        bob_history = (await as_bob.get("/v3/sms/history")).json()["data"]["total"]
        bob_balance = (await as_bob.get("/v3/account")).json()["data"]["balance"]

    _refused(against_reseller)
    _refused(against_sibling)
    assert [r.status_code for r in own_reseller_views] == [403, 403]
    assert bob_lists == 0 and bob_history == 0
    assert bob_balance == "5.000000"  # no transfer to or from anyone happened
    async with login(app, reseller) as http:
        await _unchanged(http, reseller_data, "acme")
        assert (await http.get("/v3/account")).json()["data"]["balance"] == reseller_balance
    async with login(app, carol) as as_carol:
        await _unchanged(as_carol, carol_data, "carol")
        assert (await as_carol.get("/v3/account")).json()["data"]["balance"] == carol_balance


async def test_a_reseller_never_reaches_another_resellers_clients_or_itself_as_a_client(
    app: FastAPI,
) -> None:
    first = await new_reseller(app, "first")
    second = await new_reseller(app, "second")
    async with login(app, first) as http:
        theirs = await create_client(http, "theirs")
    async with login(app, second) as http:
        mine = await create_client(http, "mine")
        attempts = [
            await http.get(f"/v3/reseller/accounts/{theirs.user_id}"),
            await http.put(f"/v3/reseller/accounts/{theirs.user_id}", json={"account_name": "x"}),
            await http.put(
                "/v3/reseller/transfer-credit",
                json={"client_user_id": theirs.user_id, "balance": 1, "currency": "USD"},
            ),
            # Its own main user and the other reseller are not its clients either.
            await http.get(f"/v3/reseller/accounts/{second.user_id}"),
            await http.get(f"/v3/reseller/accounts/{first.user_id}"),
            await http.put(
                "/v3/reseller/transfer-credit",
                json={"client_user_id": second.user_id, "balance": 1, "currency": "USD"},
            ),
        ]
        listed = (await http.get("/v3/reseller/accounts")).json()["data"]
        balance = (await http.get("/v3/account")).json()["data"]["balance"]
    async with login(app, first) as http:
        name = (await http.get(f"/v3/reseller/accounts/{theirs.user_id}")).json()["data"]

    assert [r.status_code for r in attempts] == [404] * 6, [r.text for r in attempts]
    assert [c["username"] for c in listed["data"]] == [mine.username]
    assert balance == "100.000000"
    assert name["account_name"] == "theirs Pty Ltd"
    assert name["balance"] == "0.000000"


async def test_a_client_cannot_be_made_a_reseller(app: FastAPI) -> None:
    reseller = await new_reseller(app, "acme")
    async with login(app, reseller) as http:
        bob = await create_client(http, "bob")
    runtime = app.state.runtime
    from reseller_support import make_reseller

    await make_reseller(runtime.engine, "bob", runtime.settings)
    async with login(app, Login("bob", bob.api_key, 0, 0)) as as_bob:
        refused = await as_bob.get("/v3/reseller/accounts")
    assert refused.status_code == 403
    assert "cannot resell" in refused.json()["response_msg"]
