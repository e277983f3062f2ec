"""Queries for contact lists and contacts. Every query is bounded by the account id:
another account's list or contact is indistinguishable from none."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from dovecote.contacts.fields import FIELDS
from dovecote.storage import bulk, deferred
from dovecote.storage.listing import Fields, ListQuery, Page, check_page, paginate
from dovecote.storage.tables import contact_imports, contact_lists, contacts

# An import into the list is queued or running (`_import_in_progress`).
_IMPORTING = (
    sa.exists()
    .where(contact_imports.c.list_id == contact_lists.c.id, contact_imports.c.due_at.is_not(None))
    .correlate(contact_lists)
)

LIST_FIELDS = Fields(
    columns={
        "list_id": contact_lists.c.id,
        "list_name": contact_lists.c.name,
        "list_email_id": contact_lists.c.email_id,
    },
    text=frozenset({"list_name"}),
)

CONTACT_FIELDS = Fields(
    columns={
        "contact_id": contacts.c.id,
        "list_id": contacts.c.list_id,
        "date_added": contacts.c.created_at,
        "date_updated": contacts.c.updated_at,
        **{name: contacts.c[name] for name in FIELDS},
    },
    text=frozenset(FIELDS),
)


def _lists(account_id: int) -> sa.Select[Any]:
    # `contacts_count` is a column kept by triggers (migration 0025): no count per list.
    return sa.select(contact_lists, _IMPORTING.label("importing")).where(
        contact_lists.c.account_id == account_id
    )


def _contacts(account_id: int) -> sa.Select[Any]:
    return (
        sa.select(contacts, contact_lists.c.name.label("list_name"))
        .join(contact_lists, contact_lists.c.id == contacts.c.list_id)
        .where(contacts.c.account_id == account_id)
    )


# --- lists ------------------------------------------------------------------------------


async def list_lists(conn: AsyncConnection, account_id: int, params: ListQuery) -> Page:
    return await paginate(conn, _lists(account_id), params, LIST_FIELDS, [contact_lists.c.id])


async def get_list(conn: AsyncConnection, account_id: int, list_id: int) -> sa.RowMapping | None:
    query = _lists(account_id).where(contact_lists.c.id == list_id)
    row: sa.RowMapping | None = (await conn.execute(query)).mappings().one_or_none()
    return row


async def opt_out_list(conn: AsyncConnection, account_id: int) -> sa.RowMapping | None:
    query = (
        _lists(account_id).where(contact_lists.c.is_opt_out.is_(True)).order_by(contact_lists.c.id)
    )
    row: sa.RowMapping | None = (await conn.execute(query.limit(1))).mappings().one_or_none()
    return row


# Built once: every send asks (a statement built per call costs more than running it).
_OPT_OUT_LIST_ID = sa.select(sa.func.min(contact_lists.c.id)).where(
    contact_lists.c.account_id == sa.bindparam("account_id"),
    contact_lists.c.is_opt_out.is_(True),
)


async def opt_out_list_id(conn: AsyncConnection, account_id: int) -> int | None:
    """The id of the account's opt-out list, without counting its contacts (every send
    asks)."""
    result = await conn.execute(_OPT_OUT_LIST_ID, {"account_id": account_id})
    found = result.scalar_one_or_none()
    return None if found is None else int(found)


# The list id is looked up in the same statement: a list id read earlier (`has_opt_out_list`
# once per batch) could name a list deleted since, while another became the opt-out list.
_IN_OPT_OUT_LIST = sa.select(contacts.c.phone_number).where(
    contacts.c.account_id == sa.bindparam("account_id"),
    contacts.c.list_id == _OPT_OUT_LIST_ID.scalar_subquery(),
    contacts.c.phone_number.in_(sa.bindparam("numbers", expanding=True)),
)


async def numbers_opted_out(
    conn: AsyncConnection, account_id: int, numbers: Iterable[str]
) -> set[str]:
    """Which of `numbers` the account's opt-out list holds, in one statement."""
    wanted = sorted(set(numbers))
    found: set[str] = set()
    for start in range(0, len(wanted), 500):  # bounded IN lists
        chunk = {"account_id": account_id, "numbers": wanted[start : start + 500]}
        found.update(str(n) for n in (await conn.execute(_IN_OPT_OUT_LIST, chunk)).scalars())
    return found


def _has_opt_out_list(account_id: int) -> tuple[str, int]:
    """The group-commit batch's key (`deferred.reads`) for `has_opt_out_list`."""
    return ("contacts.has_opt_out_list", account_id)


async def has_opt_out_list(
    conn: AsyncConnection, batch: deferred.Deferred, account_id: int
) -> bool:
    """Whether the account has an opt-out list, read once per group-commit batch.

    The batch's account lock does not cover contact lists: another transaction may create
    the list (an inbound STOP) while the batch runs. Every unit of the batch was queued
    before the batch began and is answered after its commit, so each may be ordered before
    that creation: no list is what the database held at a moment inside each request. Only
    the absence is taken from this read: with a list, `numbers_opted_out` reads it afresh
    (a list deleted since hides nothing). A list this batch creates drops it (`insert_list`)."""
    key = _has_opt_out_list(account_id)
    if key not in batch.reads:
        batch.reads[key] = await opt_out_list_id(conn, account_id) is not None
    found: bool = batch.reads[key]
    return found


async def read_opt_out_lists(
    conn: AsyncConnection, batch: deferred.Deferred, account_ids: Sequence[int]
) -> None:
    """`has_opt_out_list` for every account of a batch in one statement, before its units
    run (each account's first send read its own: a statement per account per batch)."""
    ids = sorted(set(account_ids))
    query = (
        sa.select(contact_lists.c.account_id)
        .where(
            bulk.any_of(contact_lists.c.account_id, ids, conn.dialect.name),
            contact_lists.c.is_opt_out.is_(True),
        )
        .distinct()
    )
    having = {int(a) for a in (await conn.execute(query)).scalars()}
    for account_id in ids:
        batch.reads[_has_opt_out_list(account_id)] = account_id in having


async def insert_list(conn: AsyncConnection, values: Mapping[str, Any]) -> int:
    result = await conn.execute(
        contact_lists.insert().values(**values).returning(contact_lists.c.id)
    )
    batch = deferred.of(conn)
    if batch is not None and values.get("is_opt_out"):
        batch.reads.pop(_has_opt_out_list(int(values["account_id"])), None)
    return int(result.scalar_one())


async def rename_list(conn: AsyncConnection, account_id: int, list_id: int, name: str) -> bool:
    query = (
        contact_lists.update()
        .where(contact_lists.c.account_id == account_id, contact_lists.c.id == list_id)
        .values(name=name)
    )
    return int((await conn.execute(query)).rowcount) == 1


async def delete_list(conn: AsyncConnection, account_id: int, list_id: int) -> bool:
    query = contact_lists.delete().where(
        contact_lists.c.account_id == account_id, contact_lists.c.id == list_id
    )
    if int((await conn.execute(query)).rowcount) != 1:
        return False
    await conn.execute(
        contacts.delete().where(contacts.c.account_id == account_id, contacts.c.list_id == list_id)
    )
    return True


# --- contacts ---------------------------------------------------------------------------


async def list_contacts(conn: AsyncConnection, owned: sa.RowMapping, params: ListQuery) -> Page:
    """A page of the contacts of `owned` (a list row the caller owns, from `get_list`).

    Without a search or an order, the common case, it stays fast on a list of millions:
    the total is the list's kept count, and the page's ids are found on the
    (list_id, id) index alone before only those rows are read — a deep OFFSET skips
    index entries, not table rows. A search or an order pays a count and a sort."""
    if params.filters or params.order:
        query = _contacts(int(owned["account_id"])).where(contacts.c.list_id == owned["id"])
        return await paginate(conn, query, params, CONTACT_FIELDS, [contacts.c.id])
    check_page(params.page)
    ids = (
        sa.select(contacts.c.id)
        .where(contacts.c.list_id == owned["id"])
        .order_by(contacts.c.id)
        .limit(params.limit)
        .offset((params.page - 1) * params.limit)
    )
    query = (
        sa.select(contacts, sa.literal(owned["name"]).label("list_name"))
        .where(contacts.c.id.in_(ids.scalar_subquery()))
        .order_by(contacts.c.id)
    )
    rows = list((await conn.execute(query)).mappings())
    return Page(rows=rows, total=int(owned["contacts_count"]), page=params.page, limit=params.limit)


async def get_contact(
    conn: AsyncConnection, account_id: int, list_id: int, contact_id: int
) -> sa.RowMapping | None:
    query = _contacts(account_id).where(contacts.c.list_id == list_id, contacts.c.id == contact_id)
    row: sa.RowMapping | None = (await conn.execute(query)).mappings().one_or_none()
    return row


async def insert_contact(conn: AsyncConnection, values: Mapping[str, Any]) -> int:
    result = await conn.execute(contacts.insert().values(**values).returning(contacts.c.id))
    return int(result.scalar_one())


async def insert_contacts(conn: AsyncConnection, rows: Sequence[Mapping[str, Any]]) -> None:
    """Many contacts in one statement (`bulk.insert_rows`): on PostgreSQL one `INSERT …
    SELECT FROM unnest` instead of an executemany, which there is a Bind/Execute per row
    (an import's batch of 2,000 took ~0.2 s)."""
    await bulk.insert_rows(conn, contacts, rows)


async def update_contact(
    conn: AsyncConnection, account_id: int, list_id: int, contact_id: int, values: Mapping[str, Any]
) -> bool:
    query = (
        contacts.update()
        .where(
            contacts.c.account_id == account_id,
            contacts.c.list_id == list_id,
            contacts.c.id == contact_id,
        )
        .values(**values)
    )
    return int((await conn.execute(query)).rowcount) == 1


async def delete_contact(
    conn: AsyncConnection, account_id: int, list_id: int, contact_id: int
) -> bool:
    query = contacts.delete().where(
        contacts.c.account_id == account_id,
        contacts.c.list_id == list_id,
        contacts.c.id == contact_id,
    )
    return int((await conn.execute(query)).rowcount) == 1


async def remove_duplicates(
    conn: AsyncConnection, account_id: int, list_id: int, fields: Sequence[str]
) -> int:
    """Delete every contact of the list that repeats an earlier one on all `fields`
    (the first, lowest id, is kept). NULLs group together: two contacts without an
    email are duplicates on `email`."""
    keep = (
        sa.select(sa.func.min(contacts.c.id))
        .where(contacts.c.account_id == account_id, contacts.c.list_id == list_id)
        .group_by(*(contacts.c[name] for name in fields))
    )
    query = contacts.delete().where(
        contacts.c.account_id == account_id,
        contacts.c.list_id == list_id,
        contacts.c.id.not_in(keep),
    )
    return int((await conn.execute(query)).rowcount)


async def remove_numbers_in(
    conn: AsyncConnection, account_id: int, list_id: int, source_list_id: int
) -> int:
    """Delete the contacts of `list_id` whose phone number is in `source_list_id`."""
    numbers = sa.select(contacts.c.phone_number).where(
        contacts.c.account_id == account_id,
        contacts.c.list_id == source_list_id,
        contacts.c.phone_number.is_not(None),
    )
    query = contacts.delete().where(
        contacts.c.account_id == account_id,
        contacts.c.list_id == list_id,
        contacts.c.phone_number.in_(numbers),
    )
    return int((await conn.execute(query)).rowcount)


async def contacts_with_number(
    conn: AsyncConnection, account_id: int, number: str
) -> list[tuple[int, int]]:
    """(contact id, list id) of every contact of the account with this phone number, on
    the (account_id, phone_number) index."""
    query = (
        sa.select(contacts.c.id, contacts.c.list_id)
        .where(contacts.c.account_id == account_id, contacts.c.phone_number == number)
        .order_by(contacts.c.id)
    )
    return [(int(i), int(list_id)) for i, list_id in await conn.execute(query)]


async def numbers_in_list(
    conn: AsyncConnection, account_id: int, list_id: int, numbers: Iterable[str]
) -> set[str]:
    wanted = sorted(set(numbers))
    if not wanted:
        return set()
    found: set[str] = set()
    for start in range(0, len(wanted), 500):  # bounded IN lists
        query = sa.select(contacts.c.phone_number).where(
            contacts.c.account_id == account_id,
            contacts.c.list_id == list_id,
            contacts.c.phone_number.in_(wanted[start : start + 500]),
        )
        found.update(str(n) for n in (await conn.execute(query)).scalars())
    return found


async def values_in_list(
    conn: AsyncConnection, account_id: int, list_id: int, column: str, values: Iterable[str]
) -> set[str]:
    """Which of `values` some contact of the list has in `column` (phone_number, email …)."""
    wanted = sorted(set(values))
    found: set[str] = set()
    for start in range(0, len(wanted), 500):  # bounded IN lists
        query = sa.select(contacts.c[column]).where(
            contacts.c.account_id == account_id,
            contacts.c.list_id == list_id,
            contacts.c[column].in_(wanted[start : start + 500]),
        )
        found.update(str(value) for value in (await conn.execute(query)).scalars())
    return found


async def list_rows(
    conn: AsyncConnection, account_id: int, list_id: int, *, after: int, limit: int
) -> list[sa.RowMapping]:
    """Contacts of a list in id order after `after`: keyset pages for exports and sends."""
    query = (
        _contacts(account_id)
        .where(contacts.c.list_id == list_id, contacts.c.id > after)
        .order_by(contacts.c.id)
        .limit(limit)
    )
    return list((await conn.execute(query)).mappings())


async def phone_contacts(
    conn: AsyncConnection, account_id: int, list_id: int, *, limit: int
) -> list[sa.RowMapping]:
    query = (
        _contacts(account_id)
        .where(contacts.c.list_id == list_id, contacts.c.phone_number.is_not(None))
        .order_by(contacts.c.id)
        .limit(limit)
    )
    return list((await conn.execute(query)).mappings())


async def stream_list(
    engine: AsyncEngine, account_id: int, list_id: int, *, chunk: int = 1000
) -> AsyncIterator[sa.RowMapping]:
    """Every contact of a list, `chunk` at a time, each chunk in its own short connection
    (on SQLite one long read would stall every other request)."""
    after = 0
    while True:
        async with engine.connect() as conn:
            rows = await list_rows(conn, account_id, list_id, after=after, limit=chunk)
        for row in rows:
            yield row
        if len(rows) < chunk:
            return
        after = int(rows[-1]["id"])


async def count_contacts(conn: AsyncConnection, account_id: int, list_id: int) -> int:
    query = sa.select(sa.func.count()).where(
        contacts.c.account_id == account_id, contacts.c.list_id == list_id
    )
    return int((await conn.execute(query)).scalar_one())


# --- search -----------------------------------------------------------------------------


def _like(column: sa.ColumnElement[Any], text: str) -> sa.ColumnElement[bool]:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return sa.func.lower(column).like(f"%{escaped}%", escape="\\")


def _contact_match(text: str) -> sa.ColumnElement[bool]:
    full_name = (
        sa.func.coalesce(contacts.c.first_name, "")
        + " "
        + sa.func.coalesce(contacts.c.last_name, "")
    )
    return sa.or_(
        _like(full_name, text),
        _like(contacts.c.phone_number, text),
        _like(contacts.c.email, text),
        _like(contacts.c.organization_name, text),
    )


async def search(
    conn: AsyncConnection, account_id: int, text: str, *, offset: int, limit: int
) -> tuple[int, list[sa.RowMapping], list[sa.RowMapping]]:
    """Lists whose name matches, then contacts whose name, number, email or organisation
    does: (total, lists on this page, contacts on this page)."""
    lists_query = _lists(account_id).where(_like(contact_lists.c.name, text))
    contacts_query = _contacts(account_id).where(_contact_match(text))
    count_lists = sa.select(sa.func.count()).select_from(lists_query.subquery())
    count_contacts_ = sa.select(sa.func.count()).select_from(contacts_query.subquery())
    n_lists = int((await conn.execute(count_lists)).scalar_one())
    n_contacts = int((await conn.execute(count_contacts_)).scalar_one())
    found_lists: list[sa.RowMapping] = []
    if offset < n_lists:
        page = lists_query.order_by(contact_lists.c.id).offset(offset).limit(limit)
        found_lists = list((await conn.execute(page)).mappings())
    found_contacts: list[sa.RowMapping] = []
    room = limit - len(found_lists)
    if room > 0:
        start = max(0, offset - n_lists)
        page = contacts_query.order_by(contacts.c.id).offset(start).limit(room)
        found_contacts = list((await conn.execute(page)).mappings())
    return n_lists + n_contacts, found_lists, found_contacts


async def suggestions(
    conn: AsyncConnection, account_id: int, text: str | None, limit: int
) -> list[sa.RowMapping]:
    query = _contacts(account_id)
    if text:
        query = query.where(_contact_match(text))
    query = query.order_by(contacts.c.id.desc()).limit(limit)
    return list((await conn.execute(query)).mappings())
