"""Link tracking: `url_to_shorten` gives each recipient a short link counted in parts and
price; a click through `/s/{code}` over real HTTP is counted for that recipient and shows in
link-tracking, link-statistics, the CSV export and SDK 6's short-url operations."""

from __future__ import annotations

import csv
import io
import re
from typing import Any
from urllib.parse import urlsplit

import clicksend
import httpx
from fastapi import FastAPI

from contacts_support import add, new_list
from dovecote.settings import Settings
from sms_support import as_caller, fan_out, other_account, sdk

LONG = "https://shop.example/spring?utm=sms"
SHORT = re.compile(r"https?://[^ ]+/s/([A-Za-z0-9]{8})")


async def balance(client: httpx.AsyncClient) -> float:
    return float((await client.get("/v3/account")).json()["data"]["balance"])


def local(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


async def campaign_with_links(
    app: FastAPI, client: httpx.AsyncClient, body: str = "Hi {first_name}, see smsg.us/xxxxx"
) -> tuple[int, dict[str, str], dict[str, Any]]:
    """A sent campaign to Ann and Bob: (id, phone → short code, its price answer)."""
    list_id = await new_list(client)
    await add(client, list_id, phone_number="+14155552671", first_name="Ann")
    await add(client, list_id, phone_number="+14155552672", first_name="Bob")
    request = {"list_id": list_id, "name": "Links", "body": body, "url_to_shorten": LONG}
    price = (await client.post("/v3/sms-campaigns/price", json=request)).json()["data"]
    sent = await client.post("/v3/sms-campaigns/send", json=request)
    assert sent.status_code == 200, sent.text
    assert sent.json()["data"]["url_to_shorten"] == LONG
    assert await fan_out(app) == 1
    history = (await client.get("/v3/sms/history")).json()["data"]["data"]
    codes = {}
    for message in history:
        found = SHORT.search(message["body"])
        assert found, message["body"]
        codes[message["to"]] = found.group(1)
    return int(sent.json()["data"]["sms_campaign_id"]), codes, price


async def test_a_click_over_http_counts_once_for_its_recipient_and_shows_everywhere(
    app: FastAPI,
    client: httpx.AsyncClient,
    anon: httpx.AsyncClient,
    live_server: Any,
) -> None:
    before = await balance(client)
    campaign_id, codes, price = await campaign_with_links(app, client)
    assert set(codes) == {"+14155552671", "+14155552672"}
    assert len(set(codes.values())) == 2  # one link per recipient
    done = (await client.get(f"/v3/sms-campaigns/{campaign_id}")).json()["data"]
    assert done["_charged"] == price["total_price"]  # the short link's length is priced
    assert round(before - await balance(client), 6) == round(float(price["total_price"]), 6)

    ann = codes["+14155552671"]
    with_agent = {"user-agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0) Mobile Safari/604.1"}
    async with httpx.AsyncClient(base_url=live_server.url) as http:
        first = await http.get(f"/s/{ann}", headers=with_agent)
        missing = await http.get("/s/NOPE1234")
    assert first.status_code == 302 and first.headers["location"] == LONG
    assert missing.status_code == 404

    base = f"/v3/sms-campaigns/{campaign_id}"
    tracking = (await client.get(f"{base}/link-tracking")).json()["data"]
    by_phone = {e["contact"]["phone_number"]: e for e in tracking["data"]}
    assert tracking["total"] == 2
    assert by_phone["+14155552671"]["open_count"] == 1
    assert by_phone["+14155552671"]["contact"]["first_name"] == "Ann"
    assert (by_phone["+14155552671"]["user_device"], by_phone["+14155552671"]["user_os"]) == (
        "Mobile",
        "iOS",
    )
    assert by_phone["+14155552672"]["open_count"] == 0
    assert by_phone["+14155552672"]["date_opened"] is None

    stats = (await client.get(f"{base}/link-statistics")).json()["data"]
    assert stats["links"]["opened"] == 1 and stats["links"]["unopened"] == 1
    assert stats["device"] == [{"label": "Mobile", "count": 1}]

    link = await client.get(f"{base}/link-export", params={"filename": "links.csv"})
    assert link.status_code == 200, link.text
    download = await anon.get(local(link.json()["data"]["url"]))
    assert download.status_code == 200
    assert 'filename="links.csv"' in download.headers["content-disposition"]
    rows = {r["phone_number"]: r for r in csv.DictReader(io.StringIO(download.text))}
    assert rows["+14155552671"]["open_count"] == "1"
    assert rows["+14155552672"]["open_count"] == "0"
    assert rows["+14155552671"]["short_url"].endswith(f"/s/{ann}")


async def test_the_mark_is_appended_when_missing_and_bad_urls_are_refused(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    list_id = await new_list(client)
    base = {"list_id": list_id, "name": "N", "body": "Hello"}
    for bad in ("ftp://x.example/", "not a url", 7):
        answer = await client.post("/v3/sms-campaigns/send", json={**base, "url_to_shorten": bad})
        assert answer.status_code == 400 and "url_to_shorten" in answer.json()["response_msg"]
    sent = await client.post("/v3/sms-campaigns/send", json={**base, "url_to_shorten": LONG})
    assert sent.json()["data"]["body"] == "Hello smsg.us/xxxxx"
    plain = await client.post("/v3/sms-campaigns/send", json=base)
    plain_id = plain.json()["data"]["sms_campaign_id"]
    assert (await client.get(f"/v3/sms-campaigns/{plain_id}/link-tracking")).status_code == 404

    stranger = await other_account(app.state.runtime.engine)
    path = f"/v3/sms-campaigns/{sent.json()['data']['sms_campaign_id']}/link-statistics"
    async with as_caller(app, stranger) as other:
        assert (await other.get(path)).status_code == 404


def test_sdk6_reads_short_url_tracking_and_statistics(live_server: Any, settings: Settings) -> None:
    with sdk(live_server.url, settings) as api_client:
        lists = clicksend.ListsApi(api_client)
        created = lists.create_list(create_list_request=clicksend.CreateListRequest(list_name="L"))
        assert created.data is not None and created.data.list_id is not None
        lists.create_new_contact(
            str(created.data.list_id),
            create_new_contact_request=clicksend.CreateNewContactRequest(
                phone_number="+14155552671"
            ),
        )
        sent = clicksend.SmsCampaignsApi(api_client).send_sms_campaign(
            send_sms_campaign_request=clicksend.SendSmsCampaignRequest(
                list_id=created.data.list_id,
                name="L",
                var_from="Dovecote",
                body="Go smsg.us/xxxxx",
                senders=[],
                url_to_shorten=LONG,
            )
        )
        assert sent.data is not None and sent.data.sms_campaign_id is not None
        api = clicksend.UrlShorteningApi(api_client)
        stats = api.short_url_get_statistics("sms-campaign", str(sent.data.sms_campaign_id))
        assert stats.data is not None and stats.data[0].long_url_id is not None
        tracking = api.short_url_get_tracking(stats.data[0].long_url_id)

    assert isinstance(stats, clicksend.GetStatistics)
    assert stats.data[0].links is not None and stats.data[0].links.total == 0  # not fanned out
    assert isinstance(tracking, clicksend.GetTracking) and tracking.total == 0
