"""The open pixel and click redirect: signed, recorded once, never an open redirect."""

from __future__ import annotations

import html
import time
from html.parser import HTMLParser
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx
import sqlalchemy as sa
from fastapi import FastAPI

from dispatch_support import event_log
from dovecote.channels.email import compose as email_domain
from dovecote.channels.email import tracking
from dovecote.channels.email.mime import Mailbox
from dovecote.settings import Settings
from dovecote.storage.tables import accounts, email_activity, message_content
from email_support import email_events, engine_of, owner_principal, parse, select

BODY = (
    "<html><body><p>Read <a href='https://example.org/article?id=7&amp;ref=mail'>this</a>"
    " or <a href='mailto:help@example.org'>write</a>.</p></body></html>"
)


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.images: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "a" and values.get("href"):
            self.hrefs.append(values["href"] or "")
        if tag == "img" and values.get("src"):
            self.images.append(values["src"] or "")


async def send_tracked(app: FastAPI, settings: Settings, *, opens: bool, clicks: bool) -> str:
    engine = engine_of(app)
    me = await owner_principal(engine)
    async with engine.begin() as conn:
        await conn.execute(
            accounts.update()
            .where(accounts.c.id == me.account.id)
            .values(settings={"email_open_tracking": opens, "email_click_tracking": clicks})
        )
    me = await owner_principal(engine)
    mail = email_domain.Email(
        sender=Mailbox("me@example.com"),
        to=[Mailbox("reader@example.net")],
        subject="Tracked",
        html=BODY,
    )
    async with engine.begin() as conn:
        queued = await email_domain.queue_emails(
            conn, me, [mail], settings=settings, events=event_log(), prices=None
        )
    return queued.message_ids[0]


async def sent_html(app: FastAPI, message_id: str) -> _Links:
    [row] = await select(
        engine_of(app),
        sa.select(message_content).where(message_content.c.message_id == message_id),
    )
    part = parse(row["content"]).get_body(("html",))
    assert part is not None
    links = _Links()
    links.feed(part.get_content())
    return links


def local(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


async def test_a_valid_click_redirects_to_the_original_url_and_records_one_event(
    app: FastAPI, anon: httpx.AsyncClient, settings: Settings
) -> None:
    message_id = await send_tracked(app, settings, opens=False, clicks=True)
    links = await sent_html(app, message_id)
    tracked, mailto = links.hrefs
    assert tracked.startswith(f"{settings.public_base()}/t/click/{message_id}?")
    assert mailto == "mailto:help@example.org"
    assert links.images == []  # open tracking is off

    response = await anon.get(local(tracked), headers={"user-agent": "Mail/1.0"})
    assert response.status_code == 302
    assert response.headers["location"] == "https://example.org/article?id=7&ref=mail"
    clicks = [e for e in await email_events(engine_of(app), message_id) if e["type"] == "click"]
    assert len(clicks) == 1
    assert clicks[0]["data"] == {
        "url": "https://example.org/article?id=7&ref=mail",
        "http_user_agent": "Mail/1.0",
        "ip": "127.0.0.1",
    }
    [activity] = await select(engine_of(app), sa.select(email_activity))
    assert (activity["clicks_count"], activity["opens_count"]) == (1, 0)


async def test_the_open_pixel_is_a_gif_and_counts_each_open(
    app: FastAPI, anon: httpx.AsyncClient, settings: Settings
) -> None:
    message_id = await send_tracked(app, settings, opens=True, clicks=False)
    links = await sent_html(app, message_id)
    assert links.hrefs[0] == "https://example.org/article?id=7&ref=mail"
    [pixel] = links.images
    for _ in range(2):
        response = await anon.get(local(pixel))
        assert response.status_code == 200
        assert response.headers["content-type"] == "image/gif"
        assert response.content == tracking.PIXEL
        assert "no-store" in response.headers["cache-control"]
    [activity] = await select(engine_of(app), sa.select(email_activity))
    assert activity["opens_count"] == 2
    assert activity["last_event_time"] >= activity["created_at"]


async def test_a_tampered_link_is_404_and_records_nothing(
    app: FastAPI, anon: httpx.AsyncClient, settings: Settings
) -> None:
    message_id = await send_tracked(app, settings, opens=True, clicks=True)
    links = await sent_html(app, message_id)
    click = urlsplit(links.hrefs[0])
    query = dict(parse_qsl(click.query))
    pixel = urlsplit(links.images[0])
    other_id = message_id[:-1] + ("1" if message_id.endswith("0") else "0")
    other_signature = query["s"][:-2] + ("yy" if query["s"].endswith("xx") else "xx")
    forged = [
        # Another destination under the same signature: the open-redirect attempt.
        f"{click.path}?{urlencode({**query, 'u': 'https://evil.example/'})}",
        f"{click.path}?{urlencode({**query, 's': other_signature})}",
        f"{click.path}?{urlencode({**query, 'e': str(int(query['e']) + 1)})}",
        f"/t/click/{other_id}?{click.query}",
        f"{click.path}",
        f"{pixel.path}?e=1&s=abc",
        f"/t/open/{other_id}.gif?{pixel.query}",
    ]
    for path in forged:
        response = await anon.get(path)
        assert response.status_code == 404, path
        assert "location" not in response.headers
    types = [e["type"] for e in await email_events(engine_of(app), message_id)]
    assert types == ["processed"]
    [activity] = await select(engine_of(app), sa.select(email_activity))
    assert (activity["opens_count"], activity["clicks_count"]) == (0, 0)


async def test_an_expired_link_is_404(
    app: FastAPI, anon: httpx.AsyncClient, settings: Settings
) -> None:
    message_id = await send_tracked(app, settings, opens=False, clicks=False)
    signer = tracking.Signer(settings.secret_key, "http://testserver", int(time.time()) - 1)
    url = signer.click_url(message_id, "https://example.org/")
    assert (await anon.get(local(html.unescape(url)))).status_code == 404
    valid = tracking.Signer(settings.secret_key, "http://testserver", int(time.time()) + 60)
    assert (
        await anon.get(local(valid.click_url(message_id, "https://example.org/")))
    ).status_code == 302


async def test_a_non_ascii_signature_is_404_like_any_bad_one(
    app: FastAPI, anon: httpx.AsyncClient, settings: Settings
) -> None:
    message_id = await send_tracked(app, settings, opens=True, clicks=True)
    later = str(int(time.time()) + 60)
    for path in (
        f"/t/click/{message_id}?u=https%3A%2F%2Fexample.org%2F&e={later}&s=%C3%A9",
        f"/t/open/{message_id}.gif?e={later}&s=%C3%A9",
    ):
        response = await anon.get(path)
        assert response.status_code == 404, path
        assert "location" not in response.headers
    types = [e["type"] for e in await email_events(engine_of(app), message_id)]
    assert types == ["processed"]
