"""What the settings sections share: the guard of a POST (the API's permission, then the
session's CSRF token) and the answer (the whole page, or only the section for htmx).

A section page is `settings_section.html` around one partial; its forms post with htmx
into `#section`, so a change re-renders the section in place (the error inline, focus
kept on the page). Without JavaScript the same forms post normally and get the page.
htmx swaps only 2xx answers, so a refused change answers htmx with 200 and the error in
the section; the full page keeps the real status (400, 403, 404).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import Request
from fastapi.responses import Response

from dovecote.core.errors import DomainError
from dovecote.dashboard import web

# One screen of each list; the API pages further (the lists are per account and short).
SHOWN = 100


async def posted(
    request: Request, flag: str | None
) -> tuple[web.Viewer, dict[str, str]] | Response:
    """The viewer and its form, or the refusal: 403 without `flag` (before the form is
    read), 403 without the session's CSRF token."""
    who = await web.viewer(request, flag)
    if not isinstance(who, web.Viewer):
        return who
    fields = await web.form(request)
    if not web.csrf_ok(request, who, fields):
        return web.refused(request, who)
    return who, fields


def section(
    request: Request,
    who: web.Viewer,
    partial: str,
    context: Mapping[str, Any],
    *,
    title: str,
    error: DomainError | None = None,
    notice: str = "",
) -> Response:
    values = {
        "partial": partial,
        "error": error.message if error else "",
        "notice": notice,
        **context,
    }
    if request.headers.get("hx-request"):
        return web.render(request, who, partial, values, title=title)
    return web.render(
        request,
        who,
        "settings_section.html",
        values,
        status_code=error.status if error else 200,
        title=title,
    )
