"""Link tracking for SMS campaigns: one short link per recipient, and its clicks.

A campaign with `url_to_shorten` gets one long URL row (`short_urls`, its id is the
`long_url_id` of `/v3/short-url/…`). Its body carries ClickSend's `smsg.us/xxxxx` token
(appended when missing); the fan-out replaces it, per recipient, with
`DOVECOTE_PUBLIC_URL/s/<code>` — a fixed-length code, so `/price` (which uses a
placeholder code of the same length) counts the same characters, parts and price as the
fan-out charges. The codes are inserted in the batch's own transaction: a batch rolled
back leaves no link. `GET /s/<code>` counts a click on that recipient's link and
redirects to the long URL.
"""

from __future__ import annotations

import secrets
import string
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from dovecote.contacts.service import Contact
from dovecote.core.errors import InvalidInput
from dovecote.pipeline.outbound import Outbound
from dovecote.storage.listing import Fields, ListQuery, Page, paginate
from dovecote.storage.tables import contacts, short_links, short_urls

LINK_MARK: Final = "smsg.us/xxxxx"
SOURCE: Final = "sms-campaign"
SOURCES: Final = frozenset({SOURCE, "sms_campaign", "sms-campaigns", "sms_campaigns"})
CODE_LENGTH: Final = 8
PATH: Final = "/s/"
_ALPHABET: Final = string.ascii_letters + string.digits


def check_url(value: object) -> str | None:
    """`url_to_shorten`: an absolute http(s) URL, or None when absent."""
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > 2000:
        raise InvalidInput("url_to_shorten must be an http or https URL.", field="url_to_shorten")
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InvalidInput("url_to_shorten must be an http or https URL.", field="url_to_shorten")
    return value.strip()


def with_token(body: str) -> str:
    return body if LINK_MARK in body else f"{body} {LINK_MARK}"


def base(public_url: str) -> str:
    return public_url.rstrip("/") + PATH


def placeholder(public_url: str) -> str:
    """A short link as long as a real one (what `/price` counts)."""
    return base(public_url) + "x" * CODE_LENGTH


def new_code() -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(CODE_LENGTH))


# --- campaign side ------------------------------------------------------------------------


async def set_long_url(
    conn: AsyncConnection, account_id: int, campaign_id: int, url: str | None, now: int
) -> None:
    """Create or change the campaign's long URL (a campaign without one keeps none)."""
    where = (
        short_urls.c.account_id == account_id,
        short_urls.c.source == SOURCE,
        short_urls.c.source_id == campaign_id,
    )
    if url is None:
        await conn.execute(short_urls.delete().where(*where))
        return
    changed = await conn.execute(short_urls.update().where(*where).values(long_url=url))
    if int(changed.rowcount) == 0:
        await conn.execute(
            short_urls.insert().values(
                account_id=account_id,
                source=SOURCE,
                source_id=campaign_id,
                long_url=url,
                created_at=now,
            )
        )


async def long_url_id(conn: AsyncConnection, account_id: int, campaign_id: int) -> int | None:
    query = sa.select(short_urls.c.id).where(
        short_urls.c.account_id == account_id,
        short_urls.c.source == SOURCE,
        short_urls.c.source_id == campaign_id,
    )
    value = (await conn.execute(query)).scalar_one_or_none()
    return int(value) if value is not None else None


@dataclass(frozen=True, slots=True)
class Batch:
    """The codes of one fan-out batch, one per contact with a phone number, in order."""

    long_url_id: int
    public_url: str
    recipients: Sequence[Contact]
    codes: Sequence[str]

    @classmethod
    def new(cls, long_url: int, public_url: str, batch: Sequence[Contact]) -> Batch:
        recipients = [contact for contact in batch if contact.fields["phone_number"]]
        return cls(long_url, public_url, recipients, [new_code() for _ in recipients])

    def urls(self) -> list[str]:
        return [base(self.public_url) + code for code in self.codes]

    async def record(
        self, conn: AsyncConnection, account_id: int, items: Sequence[Outbound], now: int
    ) -> None:
        """Keep the links of the messages that were queued (same order as `recipients`)."""
        rows = [
            {
                "code": code,
                "long_url_id": self.long_url_id,
                "account_id": account_id,
                "recipient": item.recipient,
                "contact_id": contact.id,
                "message_id": item.id,
                "created_at": now,
            }
            for contact, code, item in zip(self.recipients, self.codes, items, strict=True)
            if item.ok and item.id is not None
        ]
        if rows:
            await conn.execute(short_links.insert(), rows)


# --- clicks -------------------------------------------------------------------------------


def _agent(user_agent: str) -> tuple[str, str, str]:
    """(device, browser, OS) read coarsely from a User-Agent: enough for the breakdowns."""
    ua = user_agent.lower()
    os_name = next(
        (
            name
            for needle, name in (
                ("iphone", "iOS"),
                ("ipad", "iOS"),
                ("android", "Android"),
                ("windows", "Windows"),
                ("mac os x", "OS X"),
                ("linux", "Linux"),
            )
            if needle in ua
        ),
        "Other",
    )
    browser = next(
        (
            name
            for needle, name in (
                ("edg/", "Edge"),
                ("opr/", "Opera"),
                ("chrome/", "Chrome"),
                ("firefox/", "Firefox"),
                ("safari/", "Safari"),
            )
            if needle in ua
        ),
        "Other",
    )
    device = "Mobile" if any(n in ua for n in ("mobile", "iphone", "android")) else "Desktop"
    return device, browser, os_name


async def click(conn: AsyncConnection, code: str, user_agent: str, now: int) -> str | None:
    """Count a click on `code`; the long URL to redirect to (None: no such link)."""
    if len(code) != CODE_LENGTH or not code.isalnum() or not code.isascii():
        return None
    device, browser, os_name = _agent(user_agent)
    updated = await conn.execute(
        short_links.update()
        .where(short_links.c.code == code)
        .values(
            clicks=short_links.c.clicks + 1,
            first_clicked_at=sa.func.coalesce(short_links.c.first_clicked_at, now),
            last_clicked_at=now,
            user_device=device,
            user_browser=browser,
            user_os=os_name,
        )
    )
    if int(updated.rowcount) != 1:
        return None
    query = (
        sa.select(short_urls.c.long_url)
        .join(short_links, short_links.c.long_url_id == short_urls.c.id)
        .where(short_links.c.code == code)
    )
    value = (await conn.execute(query)).scalar_one_or_none()
    return str(value) if value is not None else None


# --- reports ------------------------------------------------------------------------------

TRACKING_FIELDS = Fields(
    columns={
        "open_count": short_links.c.clicks,
        "date_opened": short_links.c.first_clicked_at,
        "phone_number": short_links.c.recipient,
    }
)


def _tracking(account_id: int, long_url: int) -> sa.Select[Any]:
    return (
        sa.select(
            short_links,
            contacts.c.first_name,
            contacts.c.last_name,
        )
        .outerjoin(contacts, contacts.c.id == short_links.c.contact_id)
        .where(short_links.c.account_id == account_id, short_links.c.long_url_id == long_url)
    )


async def tracking_page(
    conn: AsyncConnection, account_id: int, long_url: int, params: ListQuery
) -> Page:
    return await paginate(
        conn,
        _tracking(account_id, long_url),
        params,
        TRACKING_FIELDS,
        [short_links.c.created_at, short_links.c.code],
    )


def tracking_entry(row: Mapping[str, Any]) -> dict[str, Any]:
    """One recipient's link, as ClickSend's link-tracking and SDK 6's GetTrackingDataInner."""
    return {
        "contact": {
            "contact_id": str(row["contact_id"]) if row["contact_id"] is not None else None,
            "first_name": row["first_name"],
            "last_name": row["last_name"],
            "phone_number": row["recipient"],
        },
        "open_count": row["clicks"],
        "date_opened": row["first_clicked_at"],
        "user_geo_country": None,  # Dovecote has no geo-IP database
        "user_geo_region": None,
        "user_device": row["user_device"],
        "user_browser": row["user_browser"],
        "user_os": row["user_os"],
        "_short_url_code": row["code"],
        "_message_id": row["message_id"],
    }


async def statistics(conn: AsyncConnection, long_url: int) -> dict[str, Any]:
    """Recipients, who opened, total clicks, and breakdowns by device, browser and OS."""
    totals = (
        await conn.execute(
            sa.select(
                sa.func.count(),
                sa.func.count(short_links.c.first_clicked_at),
                sa.func.coalesce(sa.func.sum(short_links.c.clicks), 0),
            ).where(short_links.c.long_url_id == long_url)
        )
    ).one()
    total, opened, clicks = int(totals[0]), int(totals[1]), int(totals[2])
    breakdown: dict[str, list[dict[str, Any]]] = {}
    for name, column in (
        ("device", short_links.c.user_device),
        ("browser", short_links.c.user_browser),
        ("os", short_links.c.user_os),
    ):
        query = (
            sa.select(column, sa.func.count())
            .where(short_links.c.long_url_id == long_url, column.is_not(None))
            .group_by(column)
            .order_by(column)
        )
        breakdown[name] = [
            {"label": label, "count": int(count)} for label, count in await conn.execute(query)
        ]
    return {
        "links": {
            "total": total,
            "opened": opened,
            "opened_unique": opened,
            "opened_total": clicks,
            "unopened": total - opened,
        },
        **breakdown,
        "country": [],
        "region": [],
    }


async def owned_long_url(
    conn: AsyncConnection, account_id: int, long_url: int
) -> RowMapping | None:
    query = sa.select(short_urls).where(
        short_urls.c.account_id == account_id, short_urls.c.id == long_url
    )
    row: RowMapping | None = (await conn.execute(query)).mappings().one_or_none()
    return row


async def long_urls_of(
    conn: AsyncConnection, account_id: int, source: str, source_id: int
) -> list[int]:
    if source not in SOURCES:
        return []
    query = (
        sa.select(short_urls.c.id)
        .where(
            short_urls.c.account_id == account_id,
            short_urls.c.source == SOURCE,
            short_urls.c.source_id == source_id,
        )
        .order_by(short_urls.c.id)
    )
    return [int(value) for value in (await conn.execute(query)).scalars()]


EXPORT_COLUMNS: Final = (
    "contact_id",
    "first_name",
    "last_name",
    "phone_number",
    "short_url",
    "open_count",
    "date_opened",
    "last_opened",
    "user_device",
    "user_browser",
    "user_os",
    "message_id",
)


async def export_rows(
    engine: AsyncEngine, account_id: int, long_url: int, public_url: str
) -> AsyncIterator[list[Any]]:
    """The campaign's links in keyset pages (memory stays flat)."""
    after = ""
    while True:
        async with engine.connect() as conn:
            query = (
                _tracking(account_id, long_url)
                .where(short_links.c.code > after)
                .order_by(short_links.c.code)
                .limit(1000)
            )
            rows = (await conn.execute(query)).mappings().all()
        if not rows:
            return
        for row in rows:
            yield [
                row["contact_id"],
                row["first_name"],
                row["last_name"],
                row["recipient"],
                base(public_url) + str(row["code"]),
                row["clicks"],
                row["first_clicked_at"],
                row["last_clicked_at"],
                row["user_device"],
                row["user_browser"],
                row["user_os"],
                row["message_id"],
            ]
        after = str(rows[-1]["code"])
