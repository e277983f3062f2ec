"""`/v3/country-list`, `/v3/user-countries` and their agreement, with SDK 6.0.2 and 5.0.91."""

from __future__ import annotations

import ast
import importlib
import sys
from pathlib import Path
from typing import Any

import clicksend
import httpx

from dovecote.settings import Settings

SDK5_PATH = Path(__file__).resolve().parents[3] / ".venv" / "sdk5"
AU, NZ, US = 36, 554, 840


async def test_choosing_replaces_the_selection_and_agreeing_stamps_it(
    client: httpx.AsyncClient,
) -> None:
    first = await client.post("/v3/user-countries", json={"country_list_ids": [AU, NZ]})
    agreed = await client.post("/v3/user-countries/agree")
    second = await client.post("/v3/user-countries", json={"country_list_ids": [NZ, US]})
    listed = (await client.get("/v3/user-countries")).json()["data"]

    assert first.status_code == 200, first.text
    assert [c["code"] for c in first.json()["data"]] == ["AU", "NZ"]
    assert all(c["agreed_at"] for c in agreed.json()["data"])
    assert second.status_code == 200
    # NZ keeps its agreement; US is new and not agreed; AU is gone.
    assert [(c["code"], c["agreed_at"] is not None) for c in listed] == [
        ("NZ", True),
        ("US", False),
    ]


async def test_an_unknown_country_id_is_refused_and_changes_nothing(
    client: httpx.AsyncClient,
) -> None:
    await client.post("/v3/user-countries", json={"country_list_ids": [AU]})
    response = await client.post("/v3/user-countries", json={"country_list_ids": [AU, 999]})
    listed = (await client.get("/v3/user-countries")).json()["data"]
    assert response.status_code == 400
    assert "999" in response.json()["response_msg"]
    assert [c["code"] for c in listed] == ["AU"]


async def test_the_usage_report_answers_both_types_the_spec_names(
    client: httpx.AsyncClient,
) -> None:
    subaccount = await client.get("/v3/account/usage/2024/5/subaccount")
    email = await client.get("/v3/account/usage/2024/5/email")
    other = await client.get("/v3/account/usage/2024/5/fax")
    assert subaccount.status_code == email.status_code == 200
    assert email.json()["data"] == subaccount.json()["data"]
    assert other.status_code == 400


def test_the_sdks_list_choose_and_agree(live_server: Any, settings: Settings) -> None:
    config = clicksend.Configuration(
        host=live_server.url, username=settings.owner_username, password=settings.owner_api_key
    )
    with clicksend.ApiClient(config) as api_client:
        api = clicksend.InternationalMessagingApi(api_client)
        countries = api.list_countries()
        chosen = api.select_countries_for_global_sending(
            clicksend.SelectCountriesForGlobalSendingRequest(country_list_ids=[AU])
        )
        agreed = api.agree_to_rules_and_regulation()
        listed = api.get_countries_for_global_sending()

    assert countries.data is not None
    assert {"AU", "US", "NZ"} <= {c.code for c in countries.data}
    assert next(c for c in countries.data if c.code == "AU").id == AU
    assert chosen.data is not None and [c.code for c in chosen.data] == ["AU"]
    assert agreed.data is not None and agreed.data[0].agreed_at is not None
    assert listed.data is not None and [c.id for c in listed.data] == [AU]

    if str(SDK5_PATH) not in sys.path:
        sys.path.insert(0, str(SDK5_PATH))
    sdk5: Any = importlib.import_module("clicksend_client")
    config5 = sdk5.Configuration()
    config5.host = live_server.url + "/v3"
    config5.username = settings.owner_username
    config5.password = settings.owner_api_key
    api5 = sdk5.GlobalSendingApi(sdk5.ApiClient(config5))
    chosen5 = ast.literal_eval(api5.user_countries_post(sdk5.CountryListIds(country_list_ids=[NZ])))
    listed5 = ast.literal_eval(api5.user_countries_get())
    names5 = ast.literal_eval(api5.list_countries_get())
    agreed5 = ast.literal_eval(api5.user_countries_agree_post())
    assert [c["code"] for c in chosen5["data"]] == ["NZ"]
    assert [c["id"] for c in listed5["data"]] == [NZ]
    assert len(names5["data"]) > 200
    assert agreed5["data"][0]["agreed_at"]
