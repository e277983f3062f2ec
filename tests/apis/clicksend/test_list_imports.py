"""`/v3/lists/{id}/import`, `import-csv-preview`, `import-fields`: files fetched from a real
HTTP peer, imported by the worker job; refusals are 400s that say why."""

from __future__ import annotations

import ast
import base64
import codecs
import importlib
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import clicksend
import httpx
import pytest
from fastapi import FastAPI

from contacts_support import new_list
from dovecote.contacts.import_job import run_due_imports
from dovecote.files.store import LocalFileStore
from dovecote.settings import Settings
from fetch_support import file_server
from sms_support import sdk

SDK5_PATH = Path(__file__).resolve().parents[3] / ".venv" / "sdk5"
CSV_TYPE = "text/csv"


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    return settings.model_copy(update={"files_dir": str(tmp_path / "files")})


async def run_imports(app: FastAPI) -> int:
    runtime = app.state.runtime
    return await run_due_imports(runtime.engine, runtime.files)


async def contacts_of(client: httpx.AsyncClient, list_id: int) -> list[dict[str, Any]]:
    response = await client.get(f"/v3/lists/{list_id}/contacts", params={"limit": 100})
    data: list[dict[str, Any]] = response.json()["data"]["data"]
    return data


async def test_a_csv_from_a_url_is_imported_by_the_worker_with_a_per_row_report(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    list_id = await new_list(client)
    csv = codecs.BOM_UTF8 + (
        b"Phone,First Name,Last Name,Custom 1\r\n"
        b'+14155552671,Ann,Lee,=HYPERLINK("x")\r\n'
        b"\r\n"
        b",,,\r\n"
        b"not a number,Bob,Ray,\r\n"
        b'(415) 555-2672,"Cy\nMultiline",Doe,7\r\n'
    )
    with file_server() as server:
        url = server.serve("/people.csv", csv, CSV_TYPE)
        queued = await client.post(
            f"/v3/lists/{list_id}/import",
            json={"file_url": url, "field_order": ["phone", "first_name", "last_name", "custom1"]},
        )
    assert queued.status_code == 200, queued.text
    assert queued.json()["response_msg"] == "Your file is now queued."
    import_id = queued.json()["data"]["id"]
    assert queued.json()["data"]["ids"] == [import_id]
    pending = (await client.get(f"/v3/lists/{list_id}/import/{import_id}")).json()["data"]
    assert pending["status"] == "pending"
    assert (await client.get(f"/v3/lists/{list_id}")).json()["data"]["_import_in_progress"] == 1
    listed = (await client.get("/v3/lists")).json()["data"]["data"]
    assert [item["_import_in_progress"] for item in listed] == [1]

    assert await run_imports(app) == 1

    state = (await client.get(f"/v3/lists/{list_id}/import/{import_id}")).json()["data"]
    assert (state["status"], state["imported"], state["refused"]) == ("done", 2, 1)
    assert state["rows_read"] == 6
    assert [r["row"] for r in state["refused_rows"]] == [5]
    assert "phone_number" in state["refused_rows"][0]["reason"]
    people = await contacts_of(client, list_id)
    assert [(p["phone_number"], p["first_name"]) for p in people] == [
        ("+14155552671", "Ann"),
        ("+14155552672", "Cy\nMultiline"),
    ]
    assert people[0]["custom_1"] == '=HYPERLINK("x")'  # kept as text; exports escape it
    assert (await client.get(f"/v3/lists/{list_id}")).json()["data"]["_import_in_progress"] == 0


async def test_an_xlsx_import_with_a_string_field_order_and_dedupe(
    app: FastAPI, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    import xlsxwriter

    list_id = await new_list(client)
    await client.post(f"/v3/lists/{list_id}/contacts", json={"phone_number": "+14155552671"})
    book = tmp_path / "book.xlsx"
    workbook = xlsxwriter.Workbook(str(book))
    sheet = workbook.add_worksheet()
    for row, values in enumerate(
        [
            [14155552671, "Ann", "skipme"],
            [14155552672, "Bob", "x"],
            [14155552672, "Bob again", "y"],
            [None, None, None],
            [14155552673, "Cy", "z"],
        ]
    ):
        sheet.write_row(row, 0, values)
    workbook.close()
    with file_server() as server:
        url = server.serve("/book.xlsx", book.read_bytes())
        queued = await client.post(
            f"/v3/lists/{list_id}/import",
            json={"file_url": url, "field_order": "phone,first_name,", "dedupe": True},
        )
    assert queued.status_code == 200, queued.text
    await run_imports(app)

    state = (await client.get(f"/v3/lists/{list_id}/import/{queued.json()['data']['id']}")).json()[
        "data"
    ]
    assert (state["imported"], state["duplicates"], state["refused"]) == (2, 2, 0)
    numbers = [p["phone_number"] for p in await contacts_of(client, list_id)]
    assert numbers == ["+14155552671", "+14155552672", "+14155552673"]


async def test_the_preview_shows_the_first_row_and_the_fields_are_the_specs(
    client: httpx.AsyncClient,
) -> None:
    list_id = await new_list(client)
    with file_server() as server:
        url = server.serve("/p.csv", b"\n+61298444214;John;Doe 1\n+61298444215;Jane;Doe\n")
        preview = await client.post(
            f"/v3/lists/{list_id}/import-csv-preview", json={"file_url": url}
        )
    fields = (await client.get(f"/v3/lists/{list_id}/import-fields")).json()["data"]

    assert preview.status_code == 200, preview.text
    assert preview.json()["data"] == {"row": ["+61298444214", "John", "Doe 1"]}
    assert fields[0] == {"field": "phone", "label": "Phone"}
    assert [f["field"] for f in fields][-1] == "address_country"
    assert len(fields) == 16


async def test_refused_imports_are_clear_400s_and_queue_nothing(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings
) -> None:
    list_id = await new_list(client)
    app.state.runtime.settings = settings.model_copy(update={"contacts_import_max_bytes": 64})
    path = f"/v3/lists/{list_id}/import"
    order = ["phone", "first_name"]
    with file_server() as server:
        good = server.serve("/ok.csv", b"+14155552671,Ann\n")
        big = server.serve("/big.csv", b"+14155552671,Ann\n" * 10)
        image = server.serve("/img.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00")
        cases: list[tuple[dict[str, Any], str]] = [
            ({"file_url": good, "field_order": ["first_name"]}, "phone, fax_number or email"),
            ({"file_url": good, "field_order": ["phone", "shoe_size"]}, "shoe_size"),
            ({"file_url": good}, "field_order"),
            ({"field_order": order}, "file_url"),
            ({"file_url": big, "field_order": order}, "larger than 64 bytes"),
            ({"file_url": image, "field_order": order}, "neither CSV"),
            ({"file_url": server.url("/missing.csv"), "field_order": order}, "HTTP 404"),
            ({"file_url": "ftp://example.com/a.csv", "field_order": order}, "file_url"),
        ]
        answers = [(await client.post(path, json=body), reason) for body, reason in cases]
    app.state.runtime.settings = settings.model_copy(update={"fetch_allow_private": False})
    private = await client.post(
        path, json={"file_url": "http://127.0.0.1:9/a.csv", "field_order": order}
    )

    for response, reason in answers:
        assert response.status_code == 400, (reason, response.text)
        assert reason in response.json()["response_msg"], response.text
    assert private.status_code == 400
    assert "file_url" in private.json()["response_msg"]
    assert await run_imports(app) == 0
    assert not any((Path(settings.files_dir) / "imports").glob("*"))


async def test_an_uploaded_file_is_imported_by_its_upload_link_without_a_network_fetch(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings
) -> None:
    """`POST /v3/uploads?convert=csv` then the answer's URL as `file_url`: read from the
    file store. Private addresses stay refused, so a network fetch of our own loopback
    URL would fail: the import succeeding proves the store path was taken."""
    app.state.runtime.settings = settings.model_copy(update={"fetch_allow_private": False})
    list_id = await new_list(client)
    csv = b"phone,first\r\n+14155552671,Ann\r\n+14155552672,Bob\r\n"
    uploaded = await client.post(
        "/v3/uploads", params={"convert": "csv"}, json={"content": base64.b64encode(csv).decode()}
    )
    assert uploaded.status_code == 200, uploaded.text
    url = uploaded.json()["data"]["_url"]

    preview = await client.post(f"/v3/lists/{list_id}/import-csv-preview", json={"file_url": url})
    assert preview.json()["data"] == {"row": ["phone", "first"]}
    queued = await client.post(
        f"/v3/lists/{list_id}/import",
        json={"file_url": url, "field_order": ["phone", "first_name"]},
    )
    assert queued.status_code == 200, queued.text
    assert await run_imports(app) == 1
    people = await contacts_of(client, list_id)
    assert [(p["phone_number"], p["first_name"]) for p in people] == [
        ("+14155552671", "Ann"),
        ("+14155552672", "Bob"),
    ]

    # A tampered link is not ours: it goes to the network, where private is refused.
    forged = url.replace("signature=", "signature=0")
    refused = await client.post(
        f"/v3/lists/{list_id}/import", json={"file_url": forged, "field_order": ["phone"]}
    )
    assert refused.status_code == 400
    # An upload the retention job removed: a clear 400, nothing queued.
    for stored in (Path(settings.files_dir) / "uploads").glob("*"):
        stored.unlink()
    expired = await client.post(
        f"/v3/lists/{list_id}/import", json={"file_url": url, "field_order": ["phone"]}
    )
    assert expired.status_code == 400
    assert "upload the file again" in expired.json()["response_msg"]
    assert await run_imports(app) == 0


async def test_a_queued_file_is_kept_in_the_runtimes_store_where_the_worker_reads_it(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings, tmp_path: Path
) -> None:
    """The handler stores through the process's one store (`runtime.files`: one S3
    client and its pool), not a store opened from the settings per request."""
    given = tmp_path / "runtime-files"
    app.state.runtime.files = LocalFileStore(given)
    list_id = await new_list(client)
    with file_server() as server:
        url = server.serve("/people.csv", b"+14155552671,Ann\n", CSV_TYPE)
        queued = await client.post(
            f"/v3/lists/{list_id}/import", json={"file_url": url, "field_order": ["phone"]}
        )
    assert queued.status_code == 200, queued.text

    import_id = queued.json()["data"]["id"]
    assert [p.name for p in (given / "imports").glob("*")] == [f"{import_id}.csv"]
    assert not (Path(settings.files_dir) / "imports").exists()
    assert await run_imports(app) == 1
    assert [p["phone_number"] for p in await contacts_of(client, list_id)] == ["+14155552671"]


async def test_an_import_into_another_accounts_list_is_not_found(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    from sms_support import as_caller, other_account

    list_id = await new_list(client)
    stranger = await other_account(app.state.runtime.engine)
    async with as_caller(app, stranger) as other:
        answer = await other.post(
            f"/v3/lists/{list_id}/import",
            json={"file_url": "http://127.0.0.1:9/a.csv", "field_order": ["phone"]},
        )
        fields = await other.get(f"/v3/lists/{list_id}/import-fields")
    assert answer.status_code == 404
    assert fields.status_code == 404


def test_sdk6_and_sdk5_queue_imports(live_server: Any, settings: Settings) -> None:
    with file_server() as server, sdk(live_server.url, settings) as api_client:
        url = server.serve("/a.csv", b"+14155552671,Ann\n")
        lists = clicksend.ListsApi(api_client)
        created = lists.create_list(create_list_request=clicksend.CreateListRequest(list_name="I"))
        assert created.data is not None
        list_id = str(created.data.list_id)
        six = lists.import_contacts(
            list_id,
            import_contacts_request=clicksend.ImportContactsRequest(
                file_url=url, field_order="phone,first_name"
            ),
        )
        if str(SDK5_PATH) not in sys.path:
            sys.path.insert(0, str(SDK5_PATH))
        sdk5: ModuleType = importlib.import_module("clicksend_client")
        config = sdk5.Configuration()
        config.host = live_server.url + "/v3"
        config.username = settings.owner_username
        config.password = settings.owner_api_key
        five_api = sdk5.ContactListApi(sdk5.ApiClient(config))
        five = ast.literal_eval(
            five_api.lists_import_by_list_id_post(
                int(list_id),
                sdk5.ContactListImport(file_url=url, field_order=["phone", "first_name"]),
            )
        )

    assert isinstance(six, clicksend.ImportContacts)
    assert six.data is not None and six.data.id is not None and six.data.ids == [six.data.id]
    assert five["response_msg"] == "Your file is now queued."
