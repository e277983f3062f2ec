"""A list's CSV export: a signed link (like the history exports) that streams the list's
contacts straight from the database, formula-escaped, in keyset pages."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from dovecote.accounts import store as account_store
from dovecote.accounts.service import require
from dovecote.contacts import store
from dovecote.contacts.fields import FIELDS
from dovecote.contacts.service import PERMISSION, owned_list
from dovecote.core.errors import Forbidden, NotFound
from dovecote.core.models import Principal
from dovecote.pipeline.exports import clean_filename, open_export, signed_url

EXPORT_PATH: Final = "/v3/lists/export/download"
KIND: Final = "contacts"
COLUMNS: Final = ("contact_id", *FIELDS, "date_added")


@dataclass(frozen=True, slots=True)
class ListExport:
    account_id: int
    list_id: int
    filename: str


async def export_link(
    conn: AsyncConnection,
    principal: Principal,
    list_id: int,
    *,
    filename: str | None,
    secret: str,
    base_url: str,
    ttl: int,
) -> str:
    require(principal, PERMISSION)
    found = await owned_list(conn, principal.account.id, list_id)
    fields = {
        "kind": KIND,
        "account": str(principal.account.id),
        "user": str(principal.user.id),
        "list": str(found.id),
        "filename": clean_filename(filename, f"list-{found.id}.csv"),
    }
    return signed_url(fields, path=EXPORT_PATH, secret=secret, base_url=base_url, ttl=ttl, now=None)


async def open_list_export(
    conn: AsyncConnection, query: Mapping[str, str], *, secret: str
) -> ListExport:
    """Check a list export link; the user's permission is read again now."""
    if query.get("kind") != KIND or not query.get("list", "").isdigit():
        raise Forbidden("This export link is not valid.")
    export = await open_export(conn, query, secret=secret)
    user = await account_store.get_user(conn, int(query["user"]))
    if user is None or not (user.is_main or user.access.get(PERMISSION, False)):
        raise Forbidden(f"This user does not have the '{PERMISSION}' permission.")
    list_id = int(query["list"])
    if await store.get_list(conn, export.scope.account_id, list_id) is None:
        raise NotFound(f"List #{list_id} not found.")
    return ListExport(export.scope.account_id, list_id, export.filename)


async def rows(engine: AsyncEngine, export: ListExport) -> AsyncIterator[list[Any]]:
    async for row in store.stream_list(engine, export.account_id, export.list_id):
        yield [row["id"], *(row[name] for name in FIELDS), row["created_at"]]
