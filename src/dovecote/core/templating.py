"""Templates shared by every channel: name and body rules, and Handlebars-style variables.

SMS and email templates share one table and one set of rules; SendGrid's template data
and (later) campaign placeholders render through `render_variables`.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from typing import Any

from dovecote.core.errors import InvalidInput

MAX_NAME = 200  # the column's width: longer names would fail in PostgreSQL, not truncate
MAX_BODY = 10_000

# `{{name}}` (HTML-escaped in HTML) and `{{{name}}}` (raw), dotted paths into the data. Block
# helpers ({{#if}}, {{/each}}, {{else}}) are not interpreted and stay as they are.
_VARIABLE = re.compile(
    r"\{\{\{\s*([A-Za-z_][\w-]*(?:\.[\w-]+)*)\s*\}\}\}|\{\{\s*([A-Za-z_][\w-]*(?:\.[\w-]+)*)\s*\}\}"
)
_KEYWORDS = frozenset({"else", "this"})


def validate_name(value: str | None) -> str:
    """A template name, shared by SMS and email templates (one column, one rule)."""
    name = (value or "").strip()
    if not name:
        raise InvalidInput("template_name is required.", field="template_name")
    if len(name) > MAX_NAME:
        raise InvalidInput(
            f"template_name must be at most {MAX_NAME} characters.", field="template_name"
        )
    return name


def validate_body(value: str | None, max_chars: int = MAX_BODY) -> str:
    if value is None or not value.strip():
        raise InvalidInput("body is required.", field="body")
    if len(value) > max_chars:
        raise InvalidInput(f"body must be at most {max_chars} characters.", field="body")
    return value


class TooLarge(Exception):
    """An expansion passed its byte budget; raised from inside `re.sub`, so the oversized
    text is never joined."""


def byte_size(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


class _Growth:
    """Counts the bytes a `re.sub` adds, and stops it once they pass `limit`."""

    def __init__(self, text: str, limit: int | None) -> None:
        self.size = byte_size(text) if limit is not None else 0
        self.limit = limit
        if limit is not None and self.size > limit:
            raise TooLarge

    def add(self, replaced: str, replacement: str) -> str:
        if self.limit is not None:
            self.size += byte_size(replacement) - byte_size(replaced)
            if self.size > self.limit:
                raise TooLarge
        return replacement


def render_variables(
    text: str, data: Mapping[str, Any], *, escape: bool, limit: int | None = None
) -> str:
    """Handlebars' variables only: `{{a.b}}` → data["a"]["b"]; a missing value renders as
    nothing, as in Handlebars. With a `limit`, raises TooLarge as soon as the text grows
    past that many bytes."""
    counter = _Growth(text, limit)

    def value(match: re.Match[str]) -> str:
        raw, path = match.group(1) is not None, match.group(1) or match.group(2)
        if path in _KEYWORDS:
            return match.group(0)
        found: Any = data
        for part in path.split("."):
            found = found.get(part) if isinstance(found, Mapping) else None
        rendered = _scalar(found)
        return counter.add(match.group(0), rendered if raw or not escape else html.escape(rendered))

    return _VARIABLE.sub(value, text)


def _scalar(value: Any) -> str:
    if value is None or isinstance(value, Mapping | list):
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
