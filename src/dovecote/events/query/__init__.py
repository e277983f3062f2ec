"""The Email Activity query language: `parse` text into an AST, `compile_filter` it
into a SQLAlchemy expression over `email_activity`. See docs/email-activity-query.md."""

from __future__ import annotations

from dovecote.events.query.compiler import Context, compile_filter
from dovecote.events.query.errors import QueryError
from dovecote.events.query.fields import EVENT_NAMES
from dovecote.events.query.parser import parse

__all__ = ["EVENT_NAMES", "Context", "QueryError", "compile_filter", "parse"]
