"""Templates shared by every channel: name and body rules, and Handlebars rendering.

SMS and email templates share one table and one set of rules; SendGrid's dynamic
templates, template data and (later) campaign placeholders render through `render`:
Handlebars (pybars3) with SendGrid's helpers, bounded in time and output size.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dovecote.core.errors import InvalidInput

MAX_NAME = 200  # the column's width: longer names would fail in PostgreSQL, not truncate
MAX_BODY = 10_000


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
    """An expansion passed its byte budget; raised while the output is written, so the
    oversized text is never joined."""


def byte_size(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


# --- Handlebars (rendering lives in core/handlebars.py, imported on first use) ---

DEFAULT_TIMEOUT = 2.0  # seconds of rendering per text


class TemplateError(Exception):
    """A template that does not compile, or fails while rendering (a missing helper)."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


class RenderTimeout(Exception):
    """Rendering took longer than its time bound."""


def compile_template(source: str) -> None:
    """Raises TemplateError (with the line, when known) for a template that does not
    compile."""
    from dovecote.core import handlebars  # here, not at the top: see handlebars.py

    handlebars.compile_template(source)


def render(
    source: str,
    data: Mapping[str, Any],
    *,
    escape: bool = True,
    limit: int | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> str:
    """`source` rendered as Handlebars with SendGrid's helpers over `data`. `{{x}}` is
    HTML-escaped when `escape`; `{{{x}}}` never is. Raises TemplateError, TooLarge (the
    output passed `limit` bytes) or RenderTimeout."""
    from dovecote.core import handlebars  # here, not at the top: see handlebars.py

    return handlebars.render(source, data, escape=escape, limit=limit, timeout=timeout)


def render_variables(
    text: str,
    data: Mapping[str, Any],
    *,
    escape: bool,
    limit: int | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> str:
    """`text` rendered as Handlebars over `data` (see `render`); kept for callers that
    name it by what it did first. With a `limit`, raises TooLarge as soon as the output
    grows past that many bytes."""
    if limit is not None and byte_size(text) > limit:
        raise TooLarge
    return render(text, data, escape=escape, limit=limit, timeout=timeout)


def format_date(value: Any, pattern: str, offset: str | None = None) -> str:
    """SendGrid's `formatDate` helper (see handlebars.format_date)."""
    from dovecote.core import handlebars  # here, not at the top: see handlebars.py

    return handlebars.format_date(value, pattern, offset)
