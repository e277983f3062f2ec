"""SendGrid's templates (`/v3/templates`): dynamic (`d-` + 32 hex, Handlebars) and legacy
ones, each with versions, at most one of them active.

Every version's subject, HTML and text are compiled when saved, so a template that does
not compile is refused then (naming the version, the part and the line) rather than at
send time. `generate_plain_content` (the default) derives the text from the HTML.
Templates belong to the account; its users need the `access_email` permission, as for
ClickSend's email templates.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncConnection

from dovecote.accounts.service import now, require
from dovecote.channels.email import dynamic_templates_store as store
from dovecote.core.errors import InvalidInput, NotFound
from dovecote.core.ids import new_id
from dovecote.core.models import Principal
from dovecote.core.templating import TemplateError, byte_size, compile_template

PERMISSION: Final = "access_email"
GENERATIONS: Final = ("legacy", "dynamic")
MAX_NAME: Final = 100
MAX_SUBJECT: Final = 255
MAX_CONTENT_BYTES: Final = 1024 * 1024  # SendGrid's cap on a version's HTML
MAX_VERSIONS: Final = 300  # SendGrid's per template
MAX_TEMPLATES: Final = 300  # SendGrid's per account
MAX_PAGE_SIZE: Final = 200
DYNAMIC_ID: Final = re.compile(r"d-[0-9a-f]{32}")
EDITORS: Final = ("code", "design")


@dataclass(frozen=True, slots=True)
class Version:
    id: str
    template_id: str
    user_id: int
    name: str
    subject: str
    html_content: str
    plain_content: str
    generate_plain_content: bool
    active: bool
    editor: str
    test_data: str | None
    updated_at: int


@dataclass(frozen=True, slots=True)
class Template:
    id: str
    name: str
    generation: str
    updated_at: int
    versions: Sequence[Version]


@dataclass(frozen=True, slots=True)
class TemplatePage:
    templates: Sequence[Template]
    count: int
    next_token: str | None


def _version(row: Mapping[Any, Any], user_id: int) -> Version:
    return Version(
        id=row["id"],
        template_id=row["template_id"],
        user_id=user_id,
        name=row["name"],
        subject=row["subject"],
        html_content=row["html_content"],
        plain_content=row["plain_content"],
        generate_plain_content=bool(row["generate_plain_content"]),
        active=bool(row["active"]),
        editor=row["editor"],
        test_data=row["test_data"],
        updated_at=int(row["updated_at"]),
    )


def _template(row: Mapping[Any, Any], versions: Sequence[Mapping[Any, Any]]) -> Template:
    return Template(
        id=row["id"],
        name=row["name"],
        generation=row["generation"],
        updated_at=int(row["updated_at"]),
        versions=[_version(v, int(row["user_id"])) for v in versions],
    )


# --- rules ------------------------------------------------------------------------------


def _name(value: str | None, field: str = "name") -> str:
    name = (value or "").strip()
    if not name:
        raise InvalidInput("name is required", field=field)
    if len(name) > MAX_NAME:
        raise InvalidInput(f"name must be at most {MAX_NAME} characters", field=field)
    return name


def parse_generations(value: str | None) -> list[str]:
    """SendGrid's `generations` filter: `legacy` (its default), `dynamic`, or both."""
    if value is None or not value.strip():
        return ["legacy"]
    chosen = [part.strip() for part in value.split(",") if part.strip()]
    for part in chosen:
        if part not in GENERATIONS:
            raise InvalidInput(
                "generations must be 'legacy', 'dynamic' or 'legacy,dynamic'",
                field="generations",
            )
    return chosen


async def _check_compiles(text: str, version: str, part: str) -> None:
    try:
        # In a thread: compiling a large template takes a while, the event loop goes on.
        await asyncio.to_thread(compile_template, text)
    except TemplateError as exc:
        where = f" on line {exc.line}" if exc.line is not None else ""
        raise InvalidInput(
            f"The {part} of version {version!r} does not compile{where}: {exc.message}",
            field=part,
        ) from None


class _Text(HTMLParser):
    """HTML to readable text: block elements break lines, links keep their address,
    style and script are dropped."""

    BLOCKS = frozenset(
        {"p", "div", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "table", "li"}
    )

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip = 0
        self.href: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("style", "script", "head", "title"):
            self.skip += 1
        elif tag == "br":
            self.parts.append("\n")
        elif tag in self.BLOCKS:
            self.parts.append("\n")
            if tag == "li":
                self.parts.append("- ")
        elif tag in ("td", "th"):
            self.parts.append(" ")
        elif tag == "a":
            self.href = dict(attrs).get("href")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "script", "head", "title"):
            self.skip = max(0, self.skip - 1)
        elif tag in self.BLOCKS:
            self.parts.append("\n")
        elif tag == "a" and self.href:
            self.parts.append(f" ({self.href})")
            self.href = None

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.parts.append(re.sub(r"\s+", " ", data))


def plain_text(html: str) -> str:
    """The text part SendGrid derives from a version's HTML (`generate_plain_content`)."""
    parser = _Text()
    parser.feed(html)
    parser.close()
    lines = [line.strip() for line in "".join(parser.parts).split("\n")]
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


async def _content(values: dict[str, Any], label: str) -> dict[str, Any]:
    """Checks and completes a version's fields (all present): compiles, generates text."""
    subject = values["subject"]
    if len(subject) > MAX_SUBJECT:
        raise InvalidInput(f"subject must be at most {MAX_SUBJECT} characters", field="subject")
    if byte_size(values["html_content"]) > MAX_CONTENT_BYTES:
        raise InvalidInput(
            f"html_content must be at most {MAX_CONTENT_BYTES:,} bytes", field="html_content"
        )
    if byte_size(values["plain_content"]) > MAX_CONTENT_BYTES:
        raise InvalidInput(
            f"plain_content must be at most {MAX_CONTENT_BYTES:,} bytes", field="plain_content"
        )
    if values["editor"] not in EDITORS:
        raise InvalidInput("editor must be 'code' or 'design'", field="editor")
    if values["generate_plain_content"]:
        values["plain_content"] = plain_text(values["html_content"])
    for part in ("subject", "html_content", "plain_content"):
        await _check_compiles(values[part], label, part)
    return values


def _test_data(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else json.dumps(value)


# --- templates ----------------------------------------------------------------------------


async def create_template(
    conn: AsyncConnection, principal: Principal, *, name: str | None, generation: str | None
) -> Template:
    require(principal, PERMISSION)
    checked = _name(name)
    kind = generation or "legacy"
    if kind not in GENERATIONS:
        raise InvalidInput("generation must be 'legacy' or 'dynamic'", field="generation")
    if await store.count_templates(conn, principal.account.id) >= MAX_TEMPLATES:
        raise InvalidInput(f"An account may have at most {MAX_TEMPLATES} templates", field="name")
    # Time-ordered (UUIDv7) ids, so that ordering by (created_at, id) is creation order.
    uuid = new_id().lower()
    template_id = f"d-{uuid.replace('-', '')}" if kind == "dynamic" else uuid
    moment = now()
    row = await store.insert_template(
        conn,
        {
            "id": template_id,
            "account_id": principal.account.id,
            "user_id": principal.user.id,
            "name": checked,
            "generation": kind,
            "created_at": moment,
            "updated_at": moment,
        },
    )
    return _template(row, [])


async def get_template(conn: AsyncConnection, principal: Principal, template_id: str) -> Template:
    require(principal, PERMISSION)
    row = await _owned(conn, principal, template_id)
    return _template(row, await store.versions_of(conn, principal.account.id, [template_id]))


async def _owned(
    conn: AsyncConnection, principal: Principal, template_id: str, *, lock: bool = False
) -> Mapping[Any, Any]:
    row = await store.get_template(conn, principal.account.id, template_id, lock=lock)
    if row is None:
        raise NotFound("resource not found", field="template_id")
    return row


def _token(created_at: int, template_id: str) -> str:
    raw = f"{created_at}:{template_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _after(token: str | None) -> tuple[int, str] | None:
    if not token:
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        created, template_id = raw.split(":", 1)
        return int(created), template_id
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput("page_token is not valid", field="page_token") from None


async def list_templates(
    conn: AsyncConnection,
    principal: Principal,
    *,
    generations: Sequence[str],
    page_size: int | None,
    page_token: str | None,
) -> TemplatePage:
    """The account's templates, oldest first; a page of `page_size` (1 to 200) with the
    token of the next, or all of them when no page size is given."""
    require(principal, PERMISSION)
    if page_size is not None and not 1 <= page_size <= MAX_PAGE_SIZE:
        raise InvalidInput(f"page_size must be between 1 and {MAX_PAGE_SIZE}", field="page_size")
    limit = page_size + 1 if page_size is not None else None
    rows, total = await store.list_templates(
        conn, principal.account.id, generations, after=_after(page_token), limit=limit
    )
    next_token = None
    if page_size is not None and len(rows) > page_size:
        rows = rows[:page_size]
        next_token = _token(int(rows[-1]["created_at"]), rows[-1]["id"])
    versions = await store.versions_of(conn, principal.account.id, [r["id"] for r in rows])
    by_template: dict[str, list[Mapping[Any, Any]]] = {}
    for version in versions:
        by_template.setdefault(version["template_id"], []).append(version)
    found = [_template(row, by_template.get(row["id"], [])) for row in rows]
    return TemplatePage(found, total, next_token)


async def rename_template(
    conn: AsyncConnection, principal: Principal, template_id: str, *, name: str | None
) -> Template:
    require(principal, PERMISSION)
    await _owned(conn, principal, template_id)
    await store.update_template(
        conn,
        principal.account.id,
        template_id,
        {"name": _name(name), "updated_at": now()},
    )
    return await get_template(conn, principal, template_id)


async def delete_template(conn: AsyncConnection, principal: Principal, template_id: str) -> None:
    require(principal, PERMISSION)
    if not await store.delete_template(conn, principal.account.id, template_id):
        raise NotFound("resource not found", field="template_id")


# --- versions -----------------------------------------------------------------------------


async def create_version(
    conn: AsyncConnection, principal: Principal, template_id: str, fields: Mapping[Any, Any]
) -> Version:
    """A new version from SendGrid's fields (`name` and `subject` required). It is
    active when `active` is 1 or when the template has no active version yet."""
    require(principal, PERMISSION)
    template = await _owned(conn, principal, template_id, lock=True)
    account = principal.account.id
    if await store.count_versions(conn, account, template_id) >= MAX_VERSIONS:
        raise InvalidInput(
            f"A template may have at most {MAX_VERSIONS} versions", field="template_id"
        )
    name = _name(fields.get("name"))
    if fields.get("subject") is None:
        raise InvalidInput("subject is required", field="subject")
    values = await _content(
        {
            "subject": fields["subject"],
            "html_content": fields.get("html_content") or "",
            "plain_content": fields.get("plain_content") or "",
            "generate_plain_content": fields.get("generate_plain_content", True) is not False,
            "editor": fields.get("editor") or "code",
        },
        name,
    )
    active = bool(fields.get("active")) or (
        await store.active_version(conn, account, template_id) is None
    )
    moment = now()
    row = await store.insert_version(
        conn,
        {
            **values,
            "id": new_id().lower(),
            "template_id": template_id,
            "account_id": account,
            "name": name,
            "active": active,
            "test_data": _test_data(fields.get("test_data")),
            "created_at": moment,
            "updated_at": moment,
        },
    )
    if active:
        await store.deactivate_others(conn, account, template_id, row["id"])
    await store.update_template(conn, account, template_id, {"updated_at": moment})
    return _version(row, int(template["user_id"]))


async def get_version(
    conn: AsyncConnection, principal: Principal, template_id: str, version_id: str
) -> Version:
    require(principal, PERMISSION)
    template = await _owned(conn, principal, template_id)
    row = await store.get_version(conn, principal.account.id, template_id, version_id)
    if row is None:
        raise NotFound("resource not found", field="version_id")
    return _version(row, int(template["user_id"]))


async def update_version(
    conn: AsyncConnection,
    principal: Principal,
    template_id: str,
    version_id: str,
    fields: Mapping[Any, Any],
) -> Version:
    """Changes the fields given; `active: 1` makes it the template's active version."""
    current = await get_version(conn, principal, template_id, version_id)
    await _owned(conn, principal, template_id, lock=True)
    name = _name(fields["name"]) if fields.get("name") is not None else current.name
    merged = {
        "subject": fields.get("subject", current.subject) or "",
        "html_content": fields.get("html_content", current.html_content) or "",
        "plain_content": fields.get("plain_content", current.plain_content) or "",
        "generate_plain_content": (
            fields["generate_plain_content"] is not False
            if fields.get("generate_plain_content") is not None
            else current.generate_plain_content
        ),
        "editor": fields.get("editor") or current.editor,
    }
    if "plain_content" in fields and "generate_plain_content" not in fields:
        merged["generate_plain_content"] = False  # text given: it is kept as given
    values = await _content(merged, name)
    changes: dict[str, Any] = {**values, "name": name, "updated_at": now()}
    if "test_data" in fields:
        changes["test_data"] = _test_data(fields["test_data"])
    if fields.get("active") is not None:
        changes["active"] = bool(fields["active"]) or current.active
    account = principal.account.id
    row = await store.update_version(conn, account, template_id, version_id, changes)
    assert row is not None
    if changes.get("active"):
        await store.deactivate_others(conn, account, template_id, version_id)
    await store.update_template(conn, account, template_id, {"updated_at": changes["updated_at"]})
    return _version(row, current.user_id)


async def activate_version(
    conn: AsyncConnection, principal: Principal, template_id: str, version_id: str
) -> Version:
    return await update_version(conn, principal, template_id, version_id, {"active": 1})


async def delete_version(
    conn: AsyncConnection, principal: Principal, template_id: str, version_id: str
) -> None:
    require(principal, PERMISSION)
    await _owned(conn, principal, template_id)
    if not await store.delete_version(conn, principal.account.id, template_id, version_id):
        raise NotFound("resource not found", field="version_id")


# --- sending ------------------------------------------------------------------------------


async def active_for_sending(
    conn: AsyncConnection, principal: Principal, template_id: str
) -> Version | None:
    """The active version of the account's dynamic template `template_id`, or None when
    there is no such template or it has no active version."""
    require(principal, PERMISSION)
    if not DYNAMIC_ID.fullmatch(template_id):
        return None
    template = await store.get_template(conn, principal.account.id, template_id)
    if template is None:
        return None
    row = await store.active_version(conn, principal.account.id, template_id)
    return _version(row, int(template["user_id"])) if row is not None else None
