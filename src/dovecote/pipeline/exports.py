"""History exports of any channel: a signed link that streams a query as CSV.

An export is not a stored file: the link signs the query (who, which filters, until
when), and opening it streams the CSV straight from the database. Nothing to clean up,
and a link cannot be widened by editing it. Each channel names its own download path
and, beside SMS (the first), a `kind` field so one channel's link cannot be replayed on
another's download.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, cast
from urllib.parse import urlencode

from sqlalchemy.ext.asyncio import AsyncConnection

from dovecote.accounts import store as account_store
from dovecote.core import security
from dovecote.core.errors import Forbidden, NotFound
from dovecote.core.models import Principal
from dovecote.pipeline.scope import Scope, scope_for
from dovecote.storage.listing import ListQuery

DEFAULT_FILENAME = "history.csv"


@dataclass(frozen=True, slots=True)
class Export:
    scope: Scope
    params: ListQuery
    date_from: int | None
    date_to: int | None
    filename: str


def clean_filename(name: str | None, default: str = DEFAULT_FILENAME) -> str:
    """A safe attachment name: no path, no quotes or control characters, ends in .csv."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = re.sub(r"[^A-Za-z0-9._ -]", "_", base).strip(" .")[:100]
    if not base:
        return default
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


def _pairs(raw: str) -> list[tuple[str, str]]:
    if not raw:
        return []
    return [(name, value) for name, _, value in (item.partition(":") for item in raw.split(","))]
