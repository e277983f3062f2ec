"""`GET /v3/sdk-download/{type}`: where ClickSend's official SDK for a language lives."""

from __future__ import annotations

import httpx
import pytest


@pytest.mark.parametrize(
    ("kind", "repository"),
    [("python", "clicksend-python"), ("cs", "clicksend-csharp"), ("Go", "clicksend-go")],
)
async def test_a_known_type_answers_the_official_repository(
    client: httpx.AsyncClient, kind: str, repository: str
) -> None:
    response = await client.get(f"/v3/sdk-download/{kind}")
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["repository_url"] == f"https://github.com/ClickSend/{repository}"
    assert data["type"] == kind.lower()


async def test_an_unknown_type_is_a_404_listing_the_types(
    client: httpx.AsyncClient, anon: httpx.AsyncClient
) -> None:
    unknown = await client.get("/v3/sdk-download/cobol")
    assert unknown.status_code == 404
    assert "python" in unknown.json()["response_msg"]
    assert (await anon.get("/v3/sdk-download/python")).status_code == 401
