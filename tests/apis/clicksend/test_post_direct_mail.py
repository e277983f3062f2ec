"""`/v3/post/direct-mail/*`: location search in the packaged sample, campaigns priced per
piece and debited once, bad flyers and unknown areas refused with nothing charged."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from fetch_support import FileServer, file_server
from post_support import pdf_of

A5 = (148, 210)
DL = (99, 210)


@pytest.fixture
def files() -> Iterator[FileServer]:
    with file_server() as server:
        yield server


async def balance(client: httpx.AsyncClient) -> float:
    return float((await client.get("/v3/account")).json()["data"]["balance"])


def campaign(urls: list[str], size: str = "A5", **values: Any) -> dict[str, Any]:
    return {
        "name": "Spring sale",
        "size": size,
        "file_urls": urls,
        "areas": [{"location_id": 2, "quantity": 100}, {"location_id": 8, "quantity": 50}],
        **values,
    }


async def test_locations_are_searched_by_postal_code_or_place(client: httpx.AsyncClient) -> None:
    found = await client.get("/v3/post/direct-mail/locations/search/AU/", params={"q": "60"})
    assert found.status_code == 200, found.text
    codes = [place["postal_code"] for place in found.json()["data"]["data"]]
    assert codes == ["6000"]
    by_name = await client.get("/v3/post/direct-mail/locations/search/ad/", params={"q": "cani"})
    [canillo] = by_name.json()["data"]["data"]
    assert (canillo["location_id"], canillo["latitude"]) == (1, "42.583300")
    none = await client.get("/v3/post/direct-mail/locations/search/US/", params={"q": "zzz"})
    assert none.json()["data"]["total"] == 0


async def test_a_campaign_is_priced_sent_debited_once_and_listed(
    client: httpx.AsyncClient, files: FileServer
) -> None:
    front = files.serve("/f.pdf", pdf_of(A5), "application/pdf")
    back = files.serve("/b.pdf", pdf_of(A5), "application/pdf")
    before = await balance(client)
    price = await client.post("/v3/post/direct-mail/campaigns/price", json=campaign([front, back]))
    assert price.status_code == 200, price.text
    priced = price.json()["data"]
    assert priced["total_quantity"] == 150 and priced["total_price"] > 0
    assert await balance(client) == before

    sent = await client.post(
        "/v3/post/direct-mail/campaigns/send", json=campaign([front, back], custom_string="c")
    )
    assert sent.status_code == 200, sent.text
    assert sent.json()["response_msg"] == "New direct mail campaign created."
    data = sent.json()["data"]
    assert data["total_price"] == priced["total_price"]
    assert round(before - await balance(client), 4) == priced["total_price"]
    assert [a["location_id"] for a in data["data"]["_areas"]] == [2, 8]
    listed = (await client.get("/v3/post/direct-mail/campaigns")).json()["data"]
    assert listed["total"] == 1 and listed["data"][0]["_total_quantity"] == 150


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"size": "A3"}, "BAD_REQUEST"),
        ({"areas": [{"location_id": 999, "quantity": 1}]}, "BAD_REQUEST"),
        ({"areas": [{"location_id": 2, "quantity": 0}]}, "BAD_REQUEST"),
        ({"size": "DL"}, "INVALID_MEDIA_FILE"),  # an A5 flyer is not DL
    ],
)
async def test_bad_campaigns_charge_nothing(
    client: httpx.AsyncClient, files: FileServer, change: dict[str, Any], code: str
) -> None:
    url = files.serve("/f.pdf", pdf_of(A5), "application/pdf")
    before = await balance(client)
    response = await client.post(
        "/v3/post/direct-mail/campaigns/send", json=campaign([url]) | change
    )
    assert response.status_code == 400, response.text
    assert response.json()["response_code"] == code
    assert await balance(client) == before
    assert (await client.get("/v3/post/direct-mail/campaigns")).json()["data"]["total"] == 0


async def test_a_dl_flyer_passes_as_dl(client: httpx.AsyncClient, files: FileServer) -> None:
    url = files.serve("/dl.pdf", pdf_of(DL), "application/pdf")
    response = await client.post("/v3/post/direct-mail/campaigns/price", json=campaign([url], "DL"))
    assert response.status_code == 200, response.text
