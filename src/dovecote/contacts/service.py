"""Contact lists and their contacts: the address book ClickSend's sends and campaigns use.

Lists belong to the account and are shared by its users, who need the `access_contacts`
permission. Copying a contact makes a new contact (a new id) in the other list;
transferring moves the same contact.
"""

from __future__ import annotations

import secrets
import string
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncConnection

from dovecote.accounts.service import require
from dovecote.contacts import fields as contact_fields
from dovecote.contacts import store
from dovecote.core.errors import InvalidInput, NotFound
from dovecote.core.models import Principal
from dovecote.storage.listing import ListQuery, Page

PERMISSION: Final = "access_contacts"
OPT_OUT_LIST_NAME: Final = "Opt-Out List"
MAX_LIST_NAME: Final = 200
_EMAIL_ID_ALPHABET: Final = string.ascii_uppercase + string.digits


@dataclass(frozen=True, slots=True)
class ContactList:
    id: int
    name: str
    email_id: str
    contacts_count: int
    is_opt_out: bool
    importing: bool = False  # an import into it is queued or running


@dataclass(frozen=True, slots=True)
class Contact:
    id: int
    list_id: int
    list_name: str
    fields: Mapping[str, str | None]
    created_at: int
    updated_at: int


def list_from_row(row: Mapping[Any, Any]) -> ContactList:
    return ContactList(
        id=int(row["id"]),
        name=row["name"],
        email_id=row["email_id"],
        contacts_count=int(row["contacts_count"] or 0),
        is_opt_out=bool(row["is_opt_out"]),
        importing=bool(row.get("importing")),
    )


def contact_from_row(row: Mapping[Any, Any]) -> Contact:
    return Contact(
        id=int(row["id"]),
        list_id=int(row["list_id"]),
        list_name=row["list_name"],
        fields={name: row[name] for name in contact_fields.FIELDS},
        created_at=int(row["created_at"]),
        updated_at=int(row["updated_at"]),
    )


def _list_name(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput("list_name is required.", field="list_name")
    name = value.strip()
    if len(name) > MAX_LIST_NAME:
        raise InvalidInput(
            f"list_name is longer than {MAX_LIST_NAME} characters.", field="list_name"
        )
    return name


# --- lists ------------------------------------------------------------------------------


async def list_lists(conn: AsyncConnection, principal: Principal, params: ListQuery) -> Page:
    require(principal, PERMISSION)
    return await store.list_lists(conn, principal.account.id, params)


async def get_list(conn: AsyncConnection, principal: Principal, list_id: int) -> ContactList:
    require(principal, PERMISSION)
    return await owned_list(conn, principal.account.id, list_id)


async def owned_list(conn: AsyncConnection, account_id: int, list_id: int) -> ContactList:
    row = await store.get_list(conn, account_id, list_id)
    if row is None:
        raise NotFound(f"List #{list_id} not found.")
    return list_from_row(row)


async def create_list(
    conn: AsyncConnection, principal: Principal, name: object, *, opt_out: bool = False
) -> ContactList:
    require(principal, PERMISSION)
    return await _insert_list(
        conn, principal.account.id, principal.user.id, _list_name(name), opt_out=opt_out
    )


async def _insert_list(
    conn: AsyncConnection, account_id: int, user_id: int, name: str, *, opt_out: bool
) -> ContactList:
    # The list's inbound-email id (ClickSend's email-to-list address part).
    email_id = "".join(secrets.choice(_EMAIL_ID_ALPHABET) for _ in range(16))
    list_id = await store.insert_list(
        conn,
        {
            "account_id": account_id,
            "user_id": user_id,
            "name": name,
            "email_id": email_id,
            "is_opt_out": opt_out,
            "created_at": int(time.time()),
        },
    )
    return ContactList(list_id, name, email_id, 0, opt_out)


async def opt_out_list(conn: AsyncConnection, account_id: int, user_id: int) -> ContactList:
    """The account's opt-out list, created when first needed."""
    row = await store.opt_out_list(conn, account_id)
    if row is not None:
        return list_from_row(row)
    return await _insert_list(conn, account_id, user_id, OPT_OUT_LIST_NAME, opt_out=True)


async def rename_list(
    conn: AsyncConnection, principal: Principal, list_id: int, name: object
) -> ContactList:
    require(principal, PERMISSION)
    if not await store.rename_list(conn, principal.account.id, list_id, _list_name(name)):
        raise NotFound(f"List #{list_id} not found.")
    return await owned_list(conn, principal.account.id, list_id)


async def delete_list(conn: AsyncConnection, principal: Principal, list_id: int) -> None:
    require(principal, PERMISSION)
    if not await store.delete_list(conn, principal.account.id, list_id):
        raise NotFound(f"List #{list_id} not found.")


def duplicate_fields(raw: object) -> list[str]:
    """`fields` as the spec gives it (an array of names) or as both SDKs send it (an
    object whose keys are the names)."""
    if isinstance(raw, Mapping):
        names = [str(key) for key, value in raw.items() if value not in (None, False, "", 0)]
    elif isinstance(raw, list):
        names = [str(name) for name in raw]
    else:
        raise InvalidInput(
            "fields must be an array of contact field names (or an object of them).",
            field="fields",
        )
    if not names:
        raise InvalidInput("fields must name at least one contact field.", field="fields")
    unknown = [name for name in names if name not in contact_fields.FIELDS]
    if unknown:
        known = ", ".join(contact_fields.FIELDS)
        raise InvalidInput(
            f"fields: unknown contact field {unknown[0]!r}; use {known}.", field="fields"
        )
    return list(dict.fromkeys(names))


async def remove_duplicates(
    conn: AsyncConnection, principal: Principal, list_id: int, fields: object
) -> int:
    require(principal, PERMISSION)
    names = duplicate_fields(fields)
    await owned_list(conn, principal.account.id, list_id)
    return await store.remove_duplicates(conn, principal.account.id, list_id, names)


async def remove_opted_out(
    conn: AsyncConnection, principal: Principal, list_id: int, opt_out_list_id: int
) -> int:
    """Delete the contacts of `list_id` whose phone number is in `opt_out_list_id`."""
    require(principal, PERMISSION)
    await owned_list(conn, principal.account.id, list_id)
    await owned_list(conn, principal.account.id, opt_out_list_id)
    return await store.remove_numbers_in(conn, principal.account.id, list_id, opt_out_list_id)


# --- contacts ---------------------------------------------------------------------------


async def list_contacts(
    conn: AsyncConnection, principal: Principal, list_id: int, params: ListQuery
) -> Page:
    require(principal, PERMISSION)
    owned = await store.get_list(conn, principal.account.id, list_id)
    if owned is None:
        raise NotFound(f"List #{list_id} not found.")
    return await store.list_contacts(conn, owned, params)


async def get_contact(
    conn: AsyncConnection, principal: Principal, list_id: int, contact_id: int
) -> Contact:
    require(principal, PERMISSION)
    return await _owned_contact(conn, principal.account.id, list_id, contact_id)


async def _owned_contact(
    conn: AsyncConnection, account_id: int, list_id: int, contact_id: int
) -> Contact:
    row = await store.get_contact(conn, account_id, list_id, contact_id)
    if row is None:
        raise NotFound(f"Contact #{contact_id} not found in list #{list_id}.")
    return contact_from_row(row)


async def create_contact(
    conn: AsyncConnection, principal: Principal, list_id: int, values: Mapping[str, Any]
) -> Contact:
    require(principal, PERMISSION)
    account_id = principal.account.id
    await owned_list(conn, account_id, list_id)
    cleaned = contact_fields.clean(values, principal.account.country)
    contact_fields.require_reachable(cleaned)
    now = int(time.time())
    row = {name: cleaned.get(name) for name in contact_fields.FIELDS}
    contact_id = await store.insert_contact(
        conn,
        {**row, "account_id": account_id, "list_id": list_id, "created_at": now, "updated_at": now},
    )
    return await _owned_contact(conn, account_id, list_id, contact_id)


async def update_contact(
    conn: AsyncConnection,
    principal: Principal,
    list_id: int,
    contact_id: int,
    values: Mapping[str, Any],
) -> Contact:
    """Change the fields given (null or "" clears one); the contact stays reachable."""
    require(principal, PERMISSION)
    account_id = principal.account.id
    current = await _owned_contact(conn, account_id, list_id, contact_id)
    given = dict(values)
    if "address_country" not in given and current.fields["address_country"]:
        given_country = current.fields["address_country"]
    else:
        given_country = None
    cleaned = contact_fields.clean(given, given_country or principal.account.country)
    merged = {**current.fields, **cleaned}
    contact_fields.require_reachable(merged)
    if cleaned:
        await store.update_contact(
            conn, account_id, list_id, contact_id, {**cleaned, "updated_at": int(time.time())}
        )
    return await _owned_contact(conn, account_id, list_id, contact_id)


async def delete_contact(
    conn: AsyncConnection, principal: Principal, list_id: int, contact_id: int
) -> None:
    require(principal, PERMISSION)
    if not await store.delete_contact(conn, principal.account.id, list_id, contact_id):
        raise NotFound(f"Contact #{contact_id} not found in list #{list_id}.")


async def copy_contact(
    conn: AsyncConnection, principal: Principal, from_list: int, contact_id: int, to_list: int
) -> Contact:
    """A new contact in `to_list` with the same fields; the original stays."""
    require(principal, PERMISSION)
    account_id = principal.account.id
    source = await _owned_contact(conn, account_id, from_list, contact_id)
    await owned_list(conn, account_id, to_list)
    now = int(time.time())
    new_id = await store.insert_contact(
        conn,
        {
            **source.fields,
            "account_id": account_id,
            "list_id": to_list,
            "created_at": now,
            "updated_at": now,
        },
    )
    return await _owned_contact(conn, account_id, to_list, new_id)


async def transfer_contact(
    conn: AsyncConnection, principal: Principal, from_list: int, contact_id: int, to_list: int
) -> Contact:
    """The same contact (same id), moved to `to_list`."""
    require(principal, PERMISSION)
    account_id = principal.account.id
    await _owned_contact(conn, account_id, from_list, contact_id)
    await owned_list(conn, account_id, to_list)
    await store.update_contact(
        conn,
        account_id,
        from_list,
        contact_id,
        {"list_id": to_list, "updated_at": int(time.time())},
    )
    return await _owned_contact(conn, account_id, to_list, contact_id)


# --- search -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SearchPage:
    total: int
    page: int
    limit: int
    lists: Sequence[ContactList]
    contacts: Sequence[Contact]


async def search(
    conn: AsyncConnection, principal: Principal, text: str | None, page: int, limit: int
) -> SearchPage:
    require(principal, PERMISSION)
    query = (text or "").strip()
    if not query:
        raise InvalidInput("q is required: a name, number or email to look for.", field="q")
    if len(query) > 200:
        raise InvalidInput("q is longer than 200 characters.", field="q")
    total, lists, contacts = await store.search(
        conn, principal.account.id, query, offset=(page - 1) * limit, limit=limit
    )
    return SearchPage(
        total=total,
        page=page,
        limit=limit,
        lists=[list_from_row(row) for row in lists],
        contacts=[contact_from_row(row) for row in contacts],
    )


async def suggestions(
    conn: AsyncConnection, principal: Principal, text: str | None, limit: int
) -> list[Contact]:
    """Contacts whose name, number, email or organisation contain `text` (newest first);
    the newest contacts without it."""
    require(principal, PERMISSION)
    query = (text or "").strip()[:200]
    rows = await store.suggestions(conn, principal.account.id, query or None, limit)
    return [contact_from_row(row) for row in rows]
