"""Contact imports: the request (map the fields, fetch the file, check it, queue a job),
the preview, and how one row of a file becomes a contact.

`POST /v3/lists/{id}/import` fetches `file_url` through the pipeline's guarded fetch
(SSRF-pinned, size-capped, streamed to a temporary file) — or, for a link `POST
/v3/uploads` gave (an uploaded file), copies it out of the file store — checks that it is CSV or XLSX
and that the mapping names a phone number, fax number or email, stores the file
(`dovecote.files`) and queues an import job; everything refusable is refused there, as
a 400, before anything is queued. The job (`import_job.py`) then reads the file in
batches. No database connection is held while the file downloads.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Final

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from dovecote.accounts.service import require
from dovecote.contacts import import_store as jobs
from dovecote.contacts import readers
from dovecote.contacts.fields import FIELDS, REACHABLE, clean, require_reachable
from dovecote.contacts.service import PERMISSION, owned_list
from dovecote.core.errors import InvalidInput, NotFound
from dovecote.core.models import Principal
from dovecote.files import links
from dovecote.files.store import FileMissing, FileStore
from dovecote.pipeline.fetch import fetch_into

# The spec's import fields (`GET /lists/{id}/import-fields`): name, label, contact field.
IMPORT_FIELDS: Final = (
    ("phone", "Phone", "phone_number"),
    ("first_name", "First Name", "first_name"),
    ("last_name", "Last Name", "last_name"),
    ("custom1", "Custom String 1", "custom_1"),
    ("custom2", "Custom String 2", "custom_2"),
    ("custom3", "Custom String 3", "custom_3"),
    ("custom4", "Custom String 4", "custom_4"),
    ("fax_number", "Fax Number", "fax_number"),
    ("organization_name", "Organization Name", "organization_name"),
    ("email", "Email", "email"),
    ("address_line_1", "Address Line 1", "address_line_1"),
    ("address_line_2", "Address Line 2", "address_line_2"),
    ("address_city", "City", "address_city"),
    ("address_state", "State", "address_state"),
    ("address_postal_code", "Postal Code", "address_postal_code"),
    ("address_country", "Country", "address_country"),
)
# Import name or contact field name → contact field; these mean "skip this column".
_BY_NAME: Final = {
    **{name: target for name, _, target in IMPORT_FIELDS},
    **{name: name for name in FIELDS},
}
_SKIP: Final = frozenset({"", "skip", "ignore", "none", "-"})
MAX_COLUMNS: Final = 100
FETCH_DEADLINE: Final = 300.0  # seconds for a whole import file to download


def _normal(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())


# Cells a header row holds: any field's name or label, in any case or spacing.
_HEADER_WORDS: Final = frozenset(
    {_normal(word) for name, label, target in IMPORT_FIELDS for word in (name, label, target)}
    | {"phonenumber", "mobile", "mobilenumber", "firstname", "lastname", "organisation"}
)


def field_order(raw: object) -> list[str | None]:
    """The column → contact field mapping, from the spec's array or SDK 6's
    comma-separated string; None skips a column. The mapping must name a phone number,
    a fax number or an email (a contact needs one)."""
    if isinstance(raw, str):
        names: Sequence[object] = raw.split(",")
    elif isinstance(raw, list):
        names = raw
    else:
        raise InvalidInput(
            "field_order is required: the contact field of each column, as an array "
            "(or a comma-separated string).",
            field="field_order",
        )
    if len(names) > MAX_COLUMNS:
        raise InvalidInput(f"field_order has more than {MAX_COLUMNS} columns.", field="field_order")
    order: list[str | None] = []
    for name in names:
        text = "" if name is None else str(name).strip().lower()
        if text in _SKIP:
            order.append(None)
            continue
        target = _BY_NAME.get(text)
        if target is None:
            known = ", ".join(name for name, _, _ in IMPORT_FIELDS)
            raise InvalidInput(
                f'field_order: unknown field {name!r}; use {known} (or "" to skip a column).',
                field="field_order",
            )
        if target in order:
            raise InvalidInput(f"field_order names {text!r} twice.", field="field_order")
        order.append(target)
    if not any(target in REACHABLE for target in order):
        raise InvalidInput(
            "field_order must map a phone, fax_number or email column: a contact needs one.",
            field="field_order",
        )
    return order


def is_blank(cells: Sequence[str]) -> bool:
    return not any(cell.strip() for cell in cells)


def is_header(cells: Sequence[str], order: Sequence[str | None]) -> bool:
    """A first row whose every mapped, non-empty cell is a field's name or label."""
    mapped = [cells[i].strip() for i, target in enumerate(order) if target and i < len(cells)]
    present = [cell for cell in mapped if cell]
    return bool(present) and all(_normal(cell) in _HEADER_WORDS for cell in present)


def contact_values(
    cells: Sequence[str], order: Sequence[str | None], country: str
) -> dict[str, str | None]:
    """One row as a contact's cleaned fields (InvalidContact naming the field if not)."""
    values = {target: cells[i] for i, target in enumerate(order) if target and i < len(cells)}
    cleaned = clean(values, country)
    require_reachable(cleaned)
    return {name: cleaned.get(name) for name in FIELDS}


# --- the request ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Fetched:
    path: Path
    fmt: readers.FileFormat


async def _fetch(url: object, *, options: ImportOptions, files: FileStore) -> Fetched:
    """The file behind `url` in a local temporary file: a link `POST /v3/uploads` gave
    is copied out of the file store (no network fetch: it would be refused as a private
    address, and the bytes are ours already), anything else is fetched through the guard."""
    if not isinstance(url, str) or not url.strip():
        raise InvalidInput("file_url is required: where to fetch the file.", field="file_url")
    handle = tempfile.NamedTemporaryFile(prefix="dovecote-import-", delete=False)  # noqa: SIM115
    path = Path(handle.name)

    def write(chunk: bytes) -> None:
        handle.write(chunk)

    try:
        with handle:
            key = links.own_key(url, secret=options.secret)
            if key is not None:
                await _copy_stored(files, key, url.strip(), handle, options.max_bytes)
            else:
                await fetch_into(
                    url.strip(),
                    write,
                    field="file_url",
                    max_bytes=options.max_bytes,
                    allow_private=options.allow_private,
                    timeout=options.timeout,
                    deadline=FETCH_DEADLINE,
                    transport=options.transport,
                )
        fmt = await asyncio.to_thread(readers.detect, path)
    except BaseException:
        _discard(path)
        raise
    return Fetched(path, fmt)


async def _copy_stored(
    files: FileStore, key: str, url: str, target: IO[bytes], max_bytes: int
) -> None:
    try:
        async with files.local_copy(key) as source:
            size = await asyncio.to_thread(lambda: source.stat().st_size)
            if size > max_bytes:
                raise InvalidInput(
                    f"file_url: the file is larger than {max_bytes} bytes.", field="file_url"
                )
            await asyncio.to_thread(_copy_into, source, target)
    except FileMissing:
        raise InvalidInput(
            f"file_url: {url} has expired; upload the file again.", field="file_url"
        ) from None


def _copy_into(source: Path, target: IO[bytes]) -> None:
    with source.open("rb") as handle:
        shutil.copyfileobj(handle, target, 1 << 20)


def _discard(path: Path) -> None:
    path.unlink(missing_ok=True)


@dataclass(frozen=True, slots=True)
class ImportOptions:
    max_bytes: int
    allow_private: bool
    timeout: float
    secret: str  # checks the signature of an upload link (`files.links`)
    transport: httpx.AsyncBaseTransport | None = None


async def request_import(
    engine: AsyncEngine,
    files: FileStore,
    principal: Principal,
    list_id: int,
    body: Mapping[str, Any],
    options: ImportOptions,
) -> str:
    """Check, fetch and store the file, queue its import; returns the import id."""
    require(principal, PERMISSION)
    order = field_order(body.get("field_order"))
    dedupe = _flag(body.get("dedupe", body.get("remove_duplicates")))
    async with engine.connect() as conn:
        await owned_list(conn, principal.account.id, list_id)
    fetched = await _fetch(body.get("file_url"), options=options, files=files)
    import_id = str(uuid.uuid4())
    key = f"imports/{import_id}.{fetched.fmt.kind}"
    try:
        await files.put_file(key, fetched.path, "application/octet-stream")
    finally:
        _discard(fetched.path)
    now = time.time()
    try:
        await _queue(engine, principal, list_id, import_id, key, fetched, order, dedupe, now)
    except BaseException:
        await files.delete(key)  # never a stored file without its import
        raise
    return import_id


async def _queue(
    engine: AsyncEngine,
    principal: Principal,
    list_id: int,
    import_id: str,
    key: str,
    fetched: Fetched,
    order: list[str | None],
    dedupe: bool,
    now: float,
) -> None:
    async with engine.begin() as conn:
        await owned_list(conn, principal.account.id, list_id)  # not deleted meanwhile
        await jobs.insert(
            conn,
            {
                "id": import_id,
                "account_id": principal.account.id,
                "user_id": principal.user.id,
                "list_id": list_id,
                "file_key": key,
                "file_type": fetched.fmt.kind,
                "field_order": order,
                "dedupe": dedupe,
                "status": jobs.PENDING,
                "due_at": now,
                "created_at": now,
            },
        )


def _flag(value: object) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


async def preview(
    files: FileStore, principal: Principal, url: object, options: ImportOptions
) -> list[str]:
    """The file's first non-blank row, as the spec's preview shows it."""
    require(principal, PERMISSION)
    fetched = await _fetch(url, options=options, files=files)
    try:
        return await asyncio.to_thread(_first_row, fetched)
    finally:
        _discard(fetched.path)


def _first_row(fetched: Fetched) -> list[str]:
    try:
        for cells in readers.rows(fetched.path, fetched.fmt):
            if not is_blank(cells):
                return cells
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidInput(f"file_url: the file cannot be read: {exc}", field="file_url") from None
    raise InvalidInput("file_url: the file has no rows.", field="file_url")


# --- reading an import's state ----------------------------------------------------------

MAX_REPORTED: Final = 10_000  # refused rows whose reason is kept (all are counted)


@dataclass(frozen=True, slots=True)
class ImportState:
    id: str
    list_id: int
    status: str
    rows_read: int
    imported: int
    refused: int
    duplicates: int
    error: str | None
    created_at: float
    finished_at: float | None
    refused_rows: Sequence[tuple[int, str]]


async def state(
    engine: AsyncEngine, principal: Principal, list_id: int, import_id: str, *, report: int
) -> ImportState:
    require(principal, PERMISSION)
    async with engine.connect() as conn:
        row = await jobs.get(conn, principal.account.id, list_id, import_id)
        if row is None:
            raise NotFound(f"Import {import_id} not found in list #{list_id}.")
        refused = await jobs.report(conn, import_id, report)
    return ImportState(
        id=row["id"],
        list_id=int(row["list_id"]),
        status=row["status"],
        rows_read=int(row["next_row"]),
        imported=int(row["imported"]),
        refused=int(row["refused"]),
        duplicates=int(row["duplicates"]),
        error=row["error"],
        created_at=float(row["created_at"]),
        finished_at=row["finished_at"],
        refused_rows=[(int(r["row_number"]), r["reason"]) for r in refused],
    )
