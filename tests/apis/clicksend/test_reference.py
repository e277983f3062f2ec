"""`/v3/countries` and `/v3/timezones`: what the official SDKs call, and how."""

from __future__ import annotations

import ast
import importlib
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import clicksend
import httpx
import pytest

SDK5_PATH = Path(__file__).resolve().parents[3] / ".venv" / "sdk5"


@pytest.fixture
def sdk5() -> ModuleType:
    if not SDK5_PATH.is_dir():
        pytest.fail(f"SDK 5.0.91 is missing under {SDK5_PATH} (make test installs it)")
    if str(SDK5_PATH) not in sys.path:
        sys.path.insert(0, str(SDK5_PATH))
    return importlib.import_module("clicksend_client")


def test_sdk6_lists_countries_although_it_sends_no_credentials(live_server: Any) -> None:
    # The SDK's own settings for this operation carry no auth: whatever username and
    # key the client is configured with, the request goes out without them.
    config = clicksend.Configuration(host=live_server.url, username="owner", password="unused")
    with clicksend.ApiClient(config) as api_client:
        result = clicksend.InternationalMessagingApi(api_client).view_countries()

    assert isinstance(result, clicksend.ViewCountries)
    assert (result.http_code, result.response_code) == (200, "SUCCESS")
    assert result.data is not None
    codes = {country.code: country.value for country in result.data}
    assert codes["AU"] == "Australia"
    assert codes["US"] == "United States"


def test_sdk5_lists_countries_although_it_sends_no_credentials(
    live_server: Any, sdk5: ModuleType
) -> None:
    config = sdk5.Configuration()
    config.host = live_server.url + "/v3"
    api = sdk5.CountriesApi(sdk5.ApiClient(config))

    # SDK 5 hands back `str(parsed_json)`, a Python repr.
    body = ast.literal_eval(api.countries_get())

    assert (body["http_code"], body["response_code"]) == (200, "SUCCESS")
    assert {"code": "AU", "value": "Australia"} in body["data"]


async def test_countries_need_no_credentials_but_timezones_still_do(
    anon: httpx.AsyncClient,
) -> None:
    countries = await anon.get("/v3/countries")
    timezones = await anon.get("/v3/timezones")

    assert countries.status_code == 200
    assert countries.json()["data"]
    # Both SDKs send credentials for timezones, so it stays behind authentication.
    assert timezones.status_code == 401
    assert timezones.json()["response_code"] == "MISSING_CREDENTIALS"
