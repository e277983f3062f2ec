"""`/v3/lists`: create, read, rename, delete, search; duplicates; export; isolation."""

from __future__ import annotations

import csv
import io

import httpx
from fastapi import FastAPI

from contacts_support import add, new_list
from sms_support import as_caller, other_account


async def test_a_list_is_created_read_renamed_listed_and_deleted(
    client: httpx.AsyncClient,
) -> None:
    created = await client.post("/v3/lists", json={"list_name": " Customers "})
    assert created.json()["response_msg"] == "New list has been created."
    item = created.json()["data"]
    assert item["list_name"] == "Customers"
    assert item["_contacts_count"] == 0
    assert len(item["list_email_id"]) == 16
    path = f"/v3/lists/{item['list_id']}"
    await add(client, item["list_id"], phone_number="+14155552671")

    assert (await client.get(path)).json()["data"]["_contacts_count"] == 1
    renamed = await client.put(path, json={"list_name": "Clients"})
    assert renamed.json()["response_msg"] == f"List #{item['list_id']} has been updated."
    assert renamed.json()["data"]["list_name"] == "Clients"
    await new_list(client, "Suppliers")
    listed = (await client.get("/v3/lists", params={"q": "list_name:supp"})).json()["data"]
    assert [x["list_name"] for x in listed["data"]] == ["Suppliers"]
    ordered = (await client.get("/v3/lists", params={"order_by": "list_name:asc"})).json()
    assert [x["list_name"] for x in ordered["data"]["data"]] == ["Clients", "Suppliers"]

    deleted = await client.delete(path)
    assert deleted.json()["data"] == []
    assert (await client.get(path)).status_code == 404
    assert (await client.get(f"{path}/contacts")).status_code == 404


async def test_a_list_needs_a_name(client: httpx.AsyncClient) -> None:
    for body in (None, {}, {"list_name": " "}, {"list_name": 5}, {"list_name": "x" * 201}, [1]):
        response = await client.post("/v3/lists", json=body)
        assert response.status_code == 400, body
        assert "list_name" in response.json()["response_msg"]
    assert (await client.get("/v3/lists")).json()["data"]["total"] == 0


async def test_duplicates_are_removed_on_the_fields_given_as_array_or_object(
    client: httpx.AsyncClient,
) -> None:
    list_id = await new_list(client)
    first = await add(client, list_id, phone_number="+14155552671", first_name="Ann")
    await add(client, list_id, phone_number="+14155552671", first_name="Ann")
    await add(client, list_id, phone_number="+14155552671", first_name="Bob")
    path = f"/v3/lists/{list_id}/remove-duplicates"

    by_both = await client.put(path, json={"fields": ["phone_number", "first_name"]})
    assert by_both.json()["data"] == {"deleted": 1}
    by_phone = await client.put(path + "/", json={"fields": {"phone_number": "phone_number"}})
    assert by_phone.json()["data"] == {"deleted": 1}
    left = (await client.get(f"/v3/lists/{list_id}/contacts")).json()["data"]["data"]
    assert [c["contact_id"] for c in left] == [first["contact_id"]]
    bodies: list[dict[str, object]] = [{"fields": []}, {"fields": ["nope"]}, {"fields": "x"}, {}]
    for body in bodies:
        response = await client.put(path, json=body)
        assert response.status_code == 400, body
        assert "fields" in response.json()["response_msg"]


async def test_the_export_streams_every_contact_formula_escaped(
    client: httpx.AsyncClient, anon: httpx.AsyncClient
) -> None:
    list_id = await new_list(client)
    for n in range(3):
        await add(client, list_id, phone_number=f"+1415555267{n}", first_name=f"P{n}")
    await add(client, list_id, email="evil@example.com", first_name="=HYPERLINK(1)")

    link = await client.get(f"/v3/lists/{list_id}/export", params={"filename": "../out"})
    url = link.json()["data"]["url"]
    download = await anon.get(url)

    assert download.status_code == 200, download.text
    assert 'filename="out.csv"' in download.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(download.text)))
    assert [r["phone_number"] for r in rows] == ["+14155552670", "+14155552671", "+14155552672", ""]
    assert rows[3]["first_name"] == "'=HYPERLINK(1)"
    assert (await anon.get(url.replace("list=", "list=9"))).status_code == 403


async def test_another_account_sees_none_of_the_lists(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    list_id = await new_list(client)
    contact = await add(client, list_id, phone_number="+14155552671")
    stranger = await other_account(app.state.runtime.engine)
    path = f"/v3/lists/{list_id}"

    async with as_caller(app, stranger) as other:
        answers = [
            await other.get(path),
            await other.put(path, json={"list_name": "mine"}),
            await other.delete(path),
            await other.get(f"{path}/contacts/{contact['contact_id']}"),
            await other.get(f"{path}/export"),
            await other.put(f"{path}/remove-duplicates", json={"fields": ["phone_number"]}),
        ]
        listed = (await other.get("/v3/lists")).json()["data"]
        searched = (await other.get("/v3/search/contacts-lists", params={"q": "+1415"})).json()

    assert [a.status_code for a in answers] == [404] * 6
    assert listed["total"] == 0
    assert searched["data"]["total"] == 0


async def test_a_user_without_access_contacts_is_refused(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    response = await client.post(
        "/v3/subaccounts",
        json={
            "api_username": "nocontacts",
            "password": "a-long-password",
            "email": "n@example.com",
            "phone_number": "+61411111111",
            "first_name": "N",
            "last_name": "C",
            "access_contacts": 0,
        },
    )
    assert response.status_code == 200, response.text
    key = response.json()["data"]["api_key"]
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://testserver",
        auth=("nocontacts", key),
    ) as sub:
        answer = await sub.get("/v3/lists")
        created = await sub.post("/v3/lists", json={"list_name": "x"})

    assert answer.status_code == 403
    assert "access_contacts" in answer.json()["response_msg"]
    assert created.status_code == 403
