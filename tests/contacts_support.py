"""Helpers for the address-book tests: a list, a contact, through the API."""

from __future__ import annotations

from typing import Any

import httpx


async def new_list(client: httpx.AsyncClient, name: str = "Customers") -> int:
    response = await client.post("/v3/lists", json={"list_name": name})
    assert response.status_code == 200, response.text
    return int(response.json()["data"]["list_id"])


async def add(client: httpx.AsyncClient, list_id: int, **fields: Any) -> dict[str, Any]:
    response = await client.post(f"/v3/lists/{list_id}/contacts", json=fields)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data
