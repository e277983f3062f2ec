"""`/v3/email/master-templates` and `/v3/email/master-templates-categories`: the packaged
gallery through SDK 6.0.2 and over HTTP."""

from __future__ import annotations

from typing import Any

import clicksend
import httpx
import pytest
from clicksend.exceptions import NotFoundException

from dovecote.channels.email import master_templates
from dovecote.settings import Settings


def sdk(url: str, username: str | None, key: str | None) -> clicksend.ApiClient:
    return clicksend.ApiClient(clicksend.Configuration(host=url, username=username, password=key))


def test_the_sdk_reads_the_gallery_its_categories_and_their_templates(
    live_server: Any, settings: Settings
) -> None:
    gallery = master_templates.gallery()
    with sdk(live_server.url, settings.owner_username, settings.owner_api_key) as client:
        api = clicksend.EmailApi(client)
        listed = api.view_master_email_templates()
        one = api.view_master_email_template("1")
        categories = api.view_template_categories()
        category = api.view_template_category("2")
        in_category = api.view_templates_in_category("2")
        with pytest.raises(NotFoundException):
            api.view_master_email_template("999")
        with pytest.raises(NotFoundException):
            api.view_templates_in_category("999")

    assert isinstance(listed, clicksend.ViewMasterEmailTemplates)
    assert listed.data is not None
    assert [t.template_id_master for t in listed.data] == [t.id for t in gallery.templates]
    assert all(t.body is None for t in listed.data)  # the list stays light
    assert all(isinstance(t.date_added, int) for t in listed.data)
    assert one.data is not None and one.data.body == master_templates.get_template(1).body
    assert one.data.template_name == "Welcome"
    assert one.data.thumbnail is not None
    assert one.data.thumbnail.small is not None
    assert one.data.thumbnail.small.startswith("data:image/svg+xml;base64,")
    assert categories.data is not None
    assert [(c.category_id, c.category_name) for c in categories.data] == [
        (c.id, c.name) for c in gallery.categories
    ]
    assert category.data is not None and category.data.name == "Newsletters"
    assert in_category.data is not None
    assert [t.template_name for t in in_category.data] == ["Newsletter", "Announcement"]
    assert all(t.body for t in in_category.data)


async def test_templates_carry_their_category_and_the_list_omits_bodies(
    client: httpx.AsyncClient,
) -> None:
    listed = await client.get("/v3/email/master-templates")
    one = await client.get("/v3/email/master-templates/4")

    assert listed.status_code == 200
    assert listed.json()["data"][0] == {
        "template_id_master": 1,
        "template_name": "Welcome",
        "category_id": 1,
        "date_added": master_templates.get_template(1).date_added,
        "thumbnail": {
            "small": master_templates.get_template(1).thumbnail,
            "large": master_templates.get_template(1).thumbnail,
        },
    }
    assert one.json()["data"]["category_id"] == 2
    assert one.json()["data"]["body"].startswith("<!DOCTYPE html>")


async def test_a_category_is_named_both_ways_the_clients_read_it(
    client: httpx.AsyncClient,
) -> None:
    listed = (await client.get("/v3/email/master-templates-categories")).json()["data"]
    one = (await client.get("/v3/email/master-templates-categories/3")).json()["data"]

    assert listed[0] == {
        "category_id": 1,
        "name": "Transactional",
        "category_name": "Transactional",
    }
    assert one == {"category_id": 3, "name": "Blank Template", "category_name": "Blank Template"}


@pytest.mark.parametrize(
    "path",
    [
        "/v3/email/master-templates/999",
        "/v3/email/master-templates-categories/999",
        "/v3/email/master-templates-categories/999/master-templates",
    ],
)
async def test_an_unknown_template_or_category_is_not_found(
    client: httpx.AsyncClient, path: str
) -> None:
    response = await client.get(path)

    assert response.status_code == 404
    assert response.json()["response_code"] == "NOT_FOUND"


@pytest.mark.parametrize(
    "path",
    [
        "/v3/email/master-templates/first",
        "/v3/email/master-templates/0",
        "/v3/email/master-templates-categories/news",
    ],
)
async def test_a_malformed_id_is_a_bad_request(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)

    assert response.status_code == 400
    assert response.json()["response_code"] == "BAD_REQUEST"


async def test_the_gallery_needs_credentials(anon: httpx.AsyncClient) -> None:
    assert (await anon.get("/v3/email/master-templates")).status_code == 401
    assert (await anon.get("/v3/email/master-templates-categories")).status_code == 401
