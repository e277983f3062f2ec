"""What every dashboard page shares: templates, the signed-in viewer, CSRF, forms, SSE.

Pages are server-rendered (Jinja2, autoescaped); htmx swaps fragments; nothing needs a
JavaScript build. A page handler asks `viewer(request)` who is signed in and gets
either a `Viewer` or the response to send instead (the sign-in page, or a 403 page when
the user lacks the permission the API would demand).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from fastapi.templating import Jinja2Templates

from dovecote.accounts import sessions
from dovecote.core.models import Principal
from dovecote.core.money import from_micros
from dovecote.pipeline.changes import RESYNC
from dovecote.runtime import Runtime

SESSION_COOKIE = "dovecote_session"
LOGIN_CSRF_COOKIE = "dovecote_login_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
MAX_FORM_BYTES = 64 * 1024

# Everything the pages load comes from here; the email preview has its own, stricter one.
PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "form-action 'self'; object-src 'none'"
)

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")


def _when(moment: float | None) -> str:
    if moment is None:
        return ""
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%d %H:%M:%S")


def _money(micros: int | None, currency: str = "") -> str:
    return f"{from_micros(micros or 0).normalize():f} {currency}".strip()


def _day(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%d")


templates.env.filters["when"] = _when
templates.env.filters["day"] = _day
templates.env.filters["money"] = _money


def runtime_of(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


@dataclass(frozen=True, slots=True)
class Viewer:
    session: sessions.Session

    @property
    def principal(self) -> Principal:
        return self.session.principal

    @property
    def csrf(self) -> str:
        return self.session.csrf_token

    def can(self, flag: str) -> bool:
        return self.principal.can(flag)

    @property
    def shows_prices(self) -> bool:
        return not self.principal.user.hide_pricing


async def viewer(request: Request, flag: str | None = None) -> Viewer | Response:
    """The signed-in viewer, or the response that replaces the page: the sign-in page
    for nobody, 403 for a user without `flag` (the permission the API checks)."""
    token = request.cookies.get(SESSION_COOKIE)
    found = None
    if token:
        async with runtime_of(request).engine.begin() as conn:
            found = await sessions.load(conn, token)
    if found is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
    who = Viewer(found)
    if flag is not None and not who.can(flag):
        return render(
            request, who, "forbidden.html", {"flag": flag}, status_code=403, title="Forbidden"
        )
    return who


def render(
    request: Request,
    who: Viewer | None,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    status_code: int = 200,
    title: str = "",
) -> HTMLResponse:
    values = {"viewer": who, "title": title, "path": request.url.path, **(context or {})}
    response = templates.TemplateResponse(request, template, values, status_code=status_code)
    secure(response)
    return response


def secure(response: Response, csp: str = PAGE_CSP) -> Response:
    response.headers["Content-Security-Policy"] = csp
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Cache-Control"] = "no-store"
    return response


async def form(request: Request) -> dict[str, str]:
    """An urlencoded form (every dashboard form is one; no file uploads), last value wins;
    empty when too large or holding a NUL character."""
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        return {}
    fields = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    # PostgreSQL text cannot hold NUL (a 500 there, stored on SQLite): such a form is no
    # form at all, and is refused like one without its CSRF token.
    if any("\x00" in key or "\x00" in value for key, value in fields.items()):
        return {}
    return fields


def csrf_ok(request: Request, who: Viewer, fields: Mapping[str, str]) -> bool:
    """Every state-changing request carries the session's token: in the form, or in the
    header htmx adds (`hx-headers` on <body>)."""
    sent = fields.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER)
    return sessions.csrf_valid(who.session, sent)


def refused(request: Request, who: Viewer | None) -> HTMLResponse:
    return render(
        request,
        who,
        "error.html",
        {"message": "The form was missing its security token or it expired. Reload and retry."},
        status_code=403,
        title="Refused",
    )


# --- server-sent events ------------------------------------------------------------------

KEEP_ALIVE_SECONDS = 15.0
# A stream ends after this long and the browser reconnects (EventSource does it by
# itself): a stopping server is never held up for long, and a user whose permissions or
# session changed gets a fresh check.
STREAM_SECONDS = 300.0
BATCH_SECONDS = 0.05  # changes arriving together are rendered together


def sse(
    request: Request,
    account_id: int,
    render_ids: Callable[[list[str]], Awaitable[Iterable[str]]],
) -> StreamingResponse:
    """A stream of `row` events, one per changed message `render_ids` renders (an HTML
    fragment whose element id says which row or bubble it replaces)."""
    changes = runtime_of(request).changes

    async def events() -> AsyncIterator[str]:
        async with changes.listen(account_id) as queue:
            yield "retry: 1000\n: connected\n\n"
            ends = time.monotonic() + STREAM_SECONDS
            while time.monotonic() < ends:
                try:
                    first = await asyncio.wait_for(queue.get(), KEEP_ALIVE_SECONDS)
                except TimeoutError:
                    if await request.is_disconnected():
                        return
                    yield ": keep-alive\n\n"
                    continue
                await asyncio.sleep(BATCH_SECONDS)
                batch = [first]
                while not queue.empty():
                    batch.append(queue.get_nowait())
                if any(change.type == RESYNC for change in batch):
                    # Changes may have been lost (PostgreSQL's listening connection was
                    # cut): end the stream; the browser reopens it and re-reads the list.
                    return
                ids = {change.message_id for change in batch}
                for fragment in await render_ids(sorted(ids)):
                    data = "\n".join("data: " + line for line in fragment.strip().splitlines())
                    yield f"event: row\n{data}\n\n"

    response = StreamingResponse(events(), media_type="text/event-stream")
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Accel-Buffering"] = "no"  # nginx: pass each event on at once
    return response
