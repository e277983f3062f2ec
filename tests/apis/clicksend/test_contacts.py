"""`/v3/lists/{list_id}/contacts`: fields, normalisation, copy/transfer, search; the SDKs."""

from __future__ import annotations

import ast
import importlib
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import clicksend
import httpx
import pytest
from clicksend.exceptions import BadRequestException, NotFoundException

from contacts_support import add, new_list
from dovecote.settings import Settings
from sms_support import sdk

SDK5_PATH = Path(__file__).resolve().parents[3] / ".venv" / "sdk5"


async def test_a_contact_keeps_every_field_with_numbers_in_e164(client: httpx.AsyncClient) -> None:
    list_id = await new_list(client)
    fields = {
        "phone_number": "(415) 555-2671",
        "first_name": "Ellen",
        "last_name": "Diaz",
        "custom_1": "A",
        "custom_2": "B",
        "custom_3": "C",
        "custom_4": "D",
        "fax_number": "+1 678 327 0696",
        "organization_name": "Awesome Organization",
        "email": "Ellen@Diaz.COM",
        "address_line_1": "Block 2",
        "address_line_2": "Cool Bldg.",
        "address_city": "Nevada",
        "address_state": "NV",
        "address_postal_code": 36063,
        "address_country": "us",
    }
    created = await add(client, list_id, **fields)

    assert created["phone_number"] == "+14155552671"
    assert created["fax_number"] == "+16783270696"
    assert created["email"] == "Ellen@diaz.com"
    assert created["address_postal_code"] == "36063"
    assert created["address_country"] == "US"
    assert created["_list_name"] == "Customers"
    assert isinstance(created["date_added"], int)
    read = await client.get(f"/v3/lists/{list_id}/contacts/{created['contact_id']}")
    assert read.json()["data"] == created
    australian = await add(client, list_id, phone_number="0412 345 678", address_country="AU")
    assert australian["phone_number"] == "+61412345678"


async def test_a_contact_with_a_bad_field_is_refused_and_nothing_is_written(
    client: httpx.AsyncClient,
) -> None:
    list_id = await new_list(client)
    cases: list[tuple[Any, str]] = [
        ({"first_name": "Nobody"}, "phone_number"),
        ({"phone_number": "12"}, "phone_number"),
        ({"phone_number": "+14155552671", "email": "not-an-email"}, "email"),
        ({"email": "a@example.com", "address_country": "USA"}, "address_country"),
        ({"email": "a@example.com", "first_name": "x" * 256}, "first_name"),
        ({"email": "a@example.com", "first_name": True}, "first_name"),
        ([1, 2], "object"),
    ]
    for body, field in cases:
        response = await client.post(f"/v3/lists/{list_id}/contacts", json=body)
        assert response.status_code == 400, body
        assert field in response.json()["response_msg"], body
    assert (await client.get(f"/v3/lists/{list_id}/contacts")).json()["data"]["total"] == 0
    assert (
        await client.post("/v3/lists/999/contacts", json={"email": "a@b.co"})
    ).status_code == 404


async def test_an_update_changes_what_is_given_and_may_clear_a_field(
    client: httpx.AsyncClient,
) -> None:
    list_id = await new_list(client)
    created = await add(client, list_id, phone_number="+14155552671", email="a@example.com")
    path = f"/v3/lists/{list_id}/contacts/{created['contact_id']}"

    changed = await client.put(path, json={"first_name": "Ann", "email": None})
    assert changed.json()["data"]["first_name"] == "Ann"
    assert changed.json()["data"]["email"] is None
    assert changed.json()["data"]["phone_number"] == "+14155552671"
    unreachable = await client.put(path, json={"phone_number": ""})
    assert unreachable.status_code == 400
    assert (await client.get(path)).json()["data"]["phone_number"] == "+14155552671"
    assert (await client.delete(path)).json()["data"] == []
    assert (await client.get(path)).status_code == 404


async def test_copy_makes_a_new_contact_and_transfer_moves_it_on_both_paths(
    client: httpx.AsyncClient,
) -> None:
    source, target = await new_list(client, "A"), await new_list(client, "B")
    person = await add(client, source, phone_number="+14155552671", first_name="Ann")
    base = f"/v3/lists/{source}/contacts/{person['contact_id']}"

    copied = (await client.put(f"{base}/copy/{target}")).json()
    assert (
        copied["response_msg"]
        == f"Contact #{person['contact_id']} has been copied to List #{target}"
    )
    assert copied["data"]["contact_id"] != person["contact_id"]
    assert copied["data"]["list_id"] == target and copied["data"]["_list_name"] == "B"
    moved = (await client.put(f"{base}/transfer/{target}")).json()["data"]
    assert moved["contact_id"] == person["contact_id"] and moved["list_id"] == target
    back = await client.put(f"/v3/lists/{target}/contacts/{person['contact_id']}/{source}")
    assert back.json()["data"]["list_id"] == source
    assert (await client.put(f"{base}/copy/99999")).status_code == 404
    counts = [
        (await client.get(f"/v3/lists/{i}")).json()["data"]["_contacts_count"]
        for i in (source, target)
    ]
    assert counts == [1, 1]


async def test_search_finds_lists_then_contacts_and_suggestions_find_contacts(
    client: httpx.AsyncClient,
) -> None:
    list_id = await new_list(client, "Gorne club")
    await add(client, list_id, phone_number="+14155552671", first_name="Ann", last_name="Gorne")
    await add(client, list_id, phone_number="+14155552672", first_name="Bob")

    found = (await client.get("/v3/search/contacts-lists", params={"q": "gorne"})).json()["data"]
    assert found["total"] == 2
    assert [(r["type"], r["name"]) for r in found["data"]] == [
        ("list", "Gorne club"),
        ("contact", "Ann Gorne"),
    ]
    assert found["data"][1]["contact"] == "+14155552671"
    assert (await client.get("/v3/search/contacts-lists")).status_code == 400
    suggested = (await client.get("/v3/contact-suggestions", params={"q": "bob"})).json()["data"]
    assert [s["first_name"] for s in suggested] == ["Bob"]
    newest = (await client.get("/v3/contact-suggestions")).json()["data"]
    assert [s["first_name"] for s in newest] == ["Bob", "Ann"]


def test_sdk6_round_trips_lists_and_contacts(live_server: Any, settings: Settings) -> None:
    with sdk(live_server.url, settings) as api_client:
        lists = clicksend.ListsApi(api_client)
        people = clicksend.ContactsApi(api_client)
        created = lists.create_list(
            create_list_request=clicksend.CreateListRequest(list_name="SDK")
        )
        assert isinstance(created, clicksend.CreateList) and created.data is not None
        list_id = str(created.data.list_id)
        other = lists.create_list(create_list_request=clicksend.CreateListRequest(list_name="Opt"))
        assert other.data is not None
        other_id = str(other.data.list_id)
        request = clicksend.CreateNewContactRequest(phone_number="+14155552671", first_name="Ann")
        contact = lists.create_new_contact(list_id, create_new_contact_request=request)
        assert isinstance(contact, clicksend.CreateNewContact) and contact.data is not None
        contact_id = str(contact.data.contact_id)
        lists.create_new_contact(list_id, create_new_contact_request=request)

        listed = lists.view_lists()
        one = lists.view_specific_list(list_id)
        renamed = lists.update_list(
            list_id, create_list_request=clicksend.CreateListRequest(list_name="SDK 2")
        )
        in_list = lists.view_list_contacts(list_id)
        got = people.get_specific_contact(list_id, contact_id)
        updated = people.update_contact(
            list_id,
            contact_id,
            create_new_contact_request=clicksend.CreateNewContactRequest(last_name="Lee"),
        )
        dedupe = clicksend.RemoveDuplicateContactsRequest(
            fields=clicksend.RemoveDuplicateContactsRequestFields(first_name="first_name")
        )
        removed = lists.remove_duplicate_contacts(list_id, remove_duplicate_contacts_request=dedupe)
        copied = lists.copy_contact_to_list(list_id, contact_id, other_id)
        opted = lists.remove_opted_out_contacts(list_id, other_id)
        assert copied.data is not None
        moved = lists.transfer_contact_to_list(other_id, str(copied.data.contact_id), list_id)
        searched = json.loads(lists.view_contact_lists_without_preload_content(q="SDK").data)
        deleted_contact = people.delete_contact(
            list_id, str(moved.data.contact_id if moved.data else 0)
        )
        with pytest.raises(NotFoundException):
            people.get_specific_contact(list_id, "999999")
        with pytest.raises(BadRequestException):
            lists.create_new_contact(
                list_id,
                create_new_contact_request=clicksend.CreateNewContactRequest(first_name="x"),
            )
        deleted = lists.delete_list(list_id)

    assert isinstance(listed, clicksend.ViewLists) and listed.data and listed.data.data
    assert [x.list_name for x in listed.data.data] == ["SDK", "Opt"]
    assert isinstance(one, clicksend.ViewSpecificList) and one.data and one.data.contacts_count == 2
    assert (
        isinstance(renamed, clicksend.UpdateList)
        and renamed.data
        and renamed.data.list_name == "SDK 2"
    )
    assert isinstance(in_list, clicksend.ViewListContacts) and in_list.data and in_list.data.data
    assert [c.first_name for c in in_list.data.data] == ["Ann", "Ann"]
    assert (
        isinstance(got, clicksend.GetSpecificContact) and got.data and got.data.list_name == "SDK 2"
    )
    assert (
        isinstance(updated, clicksend.UpdateContact)
        and updated.data
        and updated.data.last_name == "Lee"
    )
    assert (
        isinstance(removed, clicksend.RemoveDuplicateContacts)
        and removed.data
        and removed.data.deleted == 1
    )
    assert (
        isinstance(opted, clicksend.RemoveOptedOutContacts)
        and opted.data
        and opted.data.deleted == 1
    )
    assert (
        isinstance(moved, clicksend.TransferContactToList)
        and moved.data
        and moved.data.list_id == int(list_id)
    )
    assert searched["data"]["data"][0]["type"] == "list"
    assert isinstance(deleted_contact, clicksend.DeleteContact)
    assert isinstance(deleted, clicksend.DeleteList) and deleted.data == []


@pytest.fixture
def sdk5() -> ModuleType:
    if str(SDK5_PATH) not in sys.path:
        sys.path.insert(0, str(SDK5_PATH))
    return importlib.import_module("clicksend_client")


def test_sdk5_round_trips_contacts_and_searches(
    live_server: Any, settings: Settings, sdk5: ModuleType
) -> None:
    config = sdk5.Configuration()
    config.host = live_server.url + "/v3"
    config.username = settings.owner_username
    config.password = settings.owner_api_key
    client = sdk5.ApiClient(config)
    lists, people, search = (
        sdk5.ContactListApi(client),
        sdk5.ContactApi(client),
        sdk5.SearchApi(client),
    )

    created = ast.literal_eval(lists.lists_post(sdk5.ContactList(list_name="Five")))
    list_id = created["data"]["list_id"]
    contact = ast.literal_eval(
        people.lists_contacts_by_list_id_post(
            sdk5.Contact(phone_number="+14155552671", first_name="Gorne", custom_1=""), list_id
        )
    )
    found = ast.literal_eval(search.search_contacts_lists_get("gorne"))
    fields = sdk5.Fields(fields=["phone_number"])
    deduped = ast.literal_eval(lists.lists_remove_duplicates_by_list_id_put(list_id, fields))
    contacts = ast.literal_eval(people.lists_contacts_by_list_id_get(list_id))

    assert contact["data"]["phone_number"] == "+14155552671"
    assert [r["type"] for r in found["data"]["data"]] == ["contact"]
    assert deduped["data"] == {"deleted": 0}
    assert contacts["data"]["total"] == 1
