"""SMS history: an account's messages in both directions, and its CSV export.

An export is not a stored file: `export_link` signs the query (who, which filters,
until when) into a URL, and opening that URL streams the CSV straight from the
database. Nothing to clean up, and a link cannot be widened by editing it.
"""

from __future__ import annotations

import csv
import io
import re
import time
from collections.abc import AsyncIterable, AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, cast
from urllib.parse import urlencode

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from dovecote.accounts import store as account_store
from dovecote.channels.sms import store
from dovecote.channels.sms.store import Scope
from dovecote.core import security
from dovecote.core.errors import Forbidden, NotFound
from dovecote.core.models import Principal
from dovecote.storage.listing import ListQuery, Page

EXPORT_PATH = "/v3/sms/history/export/download"
DEFAULT_FILENAME = "sms-history.csv"


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    message_id: str
    direction: str  # out | in
    created_at: int
    sender: str
    recipient: str
    body: str
    status: str  # delivery_status vocabulary
    schedule: int | None
    status_code: str | None
    status_text: str | None
    error_code: str | None
    error_text: str | None
    parts: int
    price_micros: int
    from_email: str | None
    list_id: int | None
    custom_string: str | None
    country: str
    user_id: int
    username: str | None


def entry_from_row(row: Mapping[Any, Any]) -> HistoryEntry:
    return HistoryEntry(
        message_id=row["id"],
        direction=row["direction"],
        created_at=int(row["created_at"]),
        sender=row["sender"],
        recipient=row["recipient"],
        body=row["body"],
        status=row["status"],
        schedule=row["schedule"],
        status_code=row["status_code"],
        status_text=row["status_text"],
        error_code=row["error_code"],
        error_text=row["error_text"],
        parts=int(row["parts"]),
        price_micros=int(row["price_micros"]),
        from_email=row["from_email"],
        list_id=row["list_id"],
        custom_string=row["custom_string"],
        country=row["country"],
        user_id=int(row["user_id"]),
        username=row["username"],
    )


def scope_for(principal: Principal) -> Scope:
    """The main user and `access_reporting` users see the account; others only themselves."""
    if principal.can("access_reporting"):
        return Scope(principal.account.id)
    return Scope(principal.account.id, principal.user.id)


async def list_history(
    conn: AsyncConnection,
    principal: Principal,
    params: ListQuery,
    *,
    date_from: int | None = None,
    date_to: int | None = None,
) -> Page:
    return await store.list_history(conn, scope_for(principal), params, date_from, date_to)


# --- export ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Export:
    scope: Scope
    params: ListQuery
    date_from: int | None
    date_to: int | None
    filename: str


def clean_filename(name: str | None) -> str:
    """A safe attachment name: no path, no quotes or control characters, ends in .csv."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = re.sub(r"[^A-Za-z0-9._ -]", "_", base).strip(" .")[:100]
    if not base:
        return DEFAULT_FILENAME
    return base if base.lower().endswith(".csv") else f"{base}.csv"


def _signed_payload(params: Mapping[str, str]) -> str:
    return urlencode(sorted(params.items()))


def signed_url(
    fields: Mapping[str, str], *, path: str, secret: str, base_url: str, ttl: int, now: int | None
) -> str:
    """`base_url + path` with `fields`, an expiry and a signature over both (see open_export)."""
    expires = (int(time.time()) if now is None else now) + ttl
    signature = security.sign(secret, _signed_payload(fields), expires)
    query = urlencode({**fields, "expires": str(expires), "signature": signature})
    return f"{base_url.rstrip('/')}{path}?{query}"


def export_link(
    principal: Principal,
    params: ListQuery,
    *,
    date_from: int | None,
    date_to: int | None,
    filename: str | None,
    secret: str,
    base_url: str,
    ttl: int,
    now: int | None = None,
) -> str:
    """A signed URL that streams this history query as CSV until `ttl` seconds from now."""
    store.check_history_query(params)
    fields = {
        "account": str(principal.account.id),
        "user": str(principal.user.id),
        "filename": clean_filename(filename),
        "q": ",".join(f"{name}:{value}" for name, value in params.filters),
        "operator": params.operator,
        "order_by": ",".join(f"{name}:{direction}" for name, direction in params.order),
        "date_from": "" if date_from is None else str(date_from),
        "date_to": "" if date_to is None else str(date_to),
    }
    fields = {name: value for name, value in fields.items() if value}
    return signed_url(fields, path=EXPORT_PATH, secret=secret, base_url=base_url, ttl=ttl, now=now)


async def open_export(conn: AsyncConnection, query: Mapping[str, str], *, secret: str) -> Export:
    """Check an export link. Expired → NotFound; altered or unsigned → Forbidden."""
    fields = dict(query)
    signature = fields.pop("signature", "")
    try:
        expires = int(fields.pop("expires", ""))
    except ValueError:
        raise Forbidden("This export link is not valid.") from None
    if expires < time.time():
        raise NotFound("This export link has expired; request a new one.")
    if not security.verify_signature(secret, _signed_payload(fields), expires, signature):
        raise Forbidden("This export link is not valid.")
    # Signed by us, so well formed; the user's permissions are read again now, so a
    # subaccount that lost access_reporting since gets only its own messages.
    user = await account_store.get_user(conn, int(fields["user"]))
    account = await account_store.get_account(conn, int(fields["account"]))
    if user is None or account is None or user.account_id != account.id:
        raise NotFound("This export link's user no longer exists.")
    if account.banned:
        raise Forbidden("This account has been banned.", code="ACCOUNT_BANNED")
    return Export(
        scope=scope_for(Principal(user=user, account=account)),
        params=ListQuery(
            filters=_pairs(fields.get("q", "")),
            operator=cast(Literal["AND", "OR"], fields.get("operator", "AND")),
            order=[
                (name, cast(Literal["asc", "desc"], direction))
                for name, direction in _pairs(fields.get("order_by", ""))
            ],
        ),
        date_from=int(fields["date_from"]) if "date_from" in fields else None,
        date_to=int(fields["date_to"]) if "date_to" in fields else None,
        filename=fields.get("filename", DEFAULT_FILENAME),
    )


async def open_sms_export(
    conn: AsyncConnection, query: Mapping[str, str], *, secret: str
) -> Export:
    """Check an SMS export link. Other channels' links share the signed form but carry a
    `kind`, so one cannot be replayed here to read SMS with its filters."""
    if "kind" in query:
        raise Forbidden("This export link is not valid.")
    return await open_export(conn, query, secret=secret)


def _pairs(raw: str) -> list[tuple[str, str]]:
    if not raw:
        return []
    return [(name, value) for name, _, value in (item.partition(":") for item in raw.split(","))]


async def export_entries(engine: AsyncEngine, export: Export) -> AsyncIterator[HistoryEntry]:
    rows = store.stream_history(
        engine, export.scope, export.params, export.date_from, export.date_to
    )
    async for row in rows:
        yield entry_from_row(row)


# --- CSV ---------------------------------------------------------------------------

# A spreadsheet runs a cell starting with one of these as a formula (CSV injection), so
# such cells get a leading apostrophe. Plain numbers are left alone: "+61411111111" or
# "-1" cannot carry a formula, and escaping them would spoil every phone number.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?")
_FLUSH_AT = 64 * 1024


def csv_cell(value: object) -> str:
    if value is None:
        return ""
    text = str(value)
    if text.startswith(_FORMULA_START) and not _PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


async def csv_stream(
    header: Sequence[str], rows: AsyncIterable[Sequence[object]]
) -> AsyncIterator[bytes]:
    """CSV bytes in ~64 KiB pieces: memory stays flat however many rows there are."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    async for row in rows:
        writer.writerow([csv_cell(value) for value in row])
        if buffer.tell() >= _FLUSH_AT:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()
