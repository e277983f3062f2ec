"""The Email Activity query language: `parse` text into an AST, `compile_filter` it
into a SQLAlchemy expression over `email_activity`. See docs/email-activity-query.md."""

from __future__ import annotations

from dovecote.activity.query.compiler import Context, compile_filter
from dovecote.activity.query.errors import QueryError
from dovecote.activity.query.fields import EVENT_NAMES
from dovecote.activity.query.parser import parse

__all__ = ["EVENT_NAMES", "Context", "QueryError", "compile_filter", "parse"]
