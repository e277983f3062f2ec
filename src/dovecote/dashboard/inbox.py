"""The sandbox inbox: what the email sandbox captured, read like a mailbox (Mailpit).

Listing and reading go through `channels.email.captured`, the code behind
`GET /sandbox/email` and its `.eml`: the same scope (subaccounts without
`access_reporting` see their own), the same rule that mail handed to a real server is
never readable. Opening an email shows its text, headers, attachments, one-time codes,
its tracking events, and its HTML in a sandboxed frame (`mail.py`); each attachment
downloads (never shown inline), under the same scope.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from dovecote.channels.email import captured
from dovecote.core.errors import NotFound
from dovecote.dashboard import guard, mail, store, web
from dovecote.pipeline.scope import scope_for
from dovecote.storage.listing import ListQuery

router = APIRouter(include_in_schema=False, route_class=guard.PageRoute)

INBOX_SIZE = 100


@router.get("/inbox")
async def inbox(
    request: Request, who: guard.SignedIn, to: Annotated[str | None, Query(max_length=320)] = None
) -> Response:
    runtime = web.runtime_of(request)
    try:
        async with runtime.engine.connect() as conn:
            page = await captured.list_captured(
                conn,
                who.principal,
                ListQuery(limit=INBOX_SIZE),
                settings=runtime.settings,
                to=to.strip() if to and to.strip() else None,
            )
        rows, note = page.rows, ""
    except NotFound as exc:
        rows, note = [], exc.message
    return web.render(
        request,
        who,
        "inbox.html",
        {"rows": rows, "note": note, "to": to or ""},
        title="Sandbox inbox",
    )


async def _source(request: Request, who: web.Viewer, message_id: str) -> bytes | None:
    runtime = web.runtime_of(request)
    try:
        async with runtime.engine.connect() as conn:
            return await captured.email_source(
                conn, who.principal, message_id.upper()[:64], settings=runtime.settings
            )
    except NotFound:
        return None


def _missing(request: Request, who: web.Viewer) -> Response:
    return web.render(
        request,
        who,
        "error.html",
        {"message": "No such email in the sandbox."},
        status_code=404,
        title="Not found",
    )


@router.get("/inbox/{message_id}")
async def email_page(
    request: Request,
    who: guard.SignedIn,
    message_id: str,
    images: Annotated[int, Query(ge=0, le=1)] = 0,
) -> Response:
    source = await _source(request, who, message_id)
    if source is None:
        return _missing(request, who)
    read = mail.read(source)
    async with web.runtime_of(request).engine.connect() as conn:
        page = await store.get_message(conn, scope_for(who.principal), message_id.upper()[:64])
    return web.render(
        request,
        who,
        "email.html",
        {
            "id": message_id.upper(),
            "mail": read,
            "images": bool(images),
            "text_pieces": mail.highlight(read.text) if read.text else [],
            "events": page.events if page else [],
        },
        title=read.subject or "(no subject)",
    )


@router.get("/inbox/{message_id}/preview")
async def email_preview(
    request: Request,
    who: guard.SignedIn,
    message_id: str,
    images: Annotated[int, Query(ge=0, le=1)] = 0,
) -> Response:
    """The HTML part alone, the document of the sandboxed frame."""
    source = await _source(request, who, message_id)
    if source is None:
        return _missing(request, who)
    html = mail.read(source).html or ""
    response = Response(mail.preview_document(html), media_type="text/html")
    web.secure(response, mail.preview_csp(bool(images)))
    return response


# Whatever the attachment's type (text/html, image/svg+xml included), it is a download:
# `attachment` disposition, nosniff, and a policy that runs nothing should it be opened.
DOWNLOAD_CSP = "default-src 'none'; sandbox"


@router.get("/inbox/{message_id}/attachments/{number}")
async def email_attachment(
    request: Request,
    who: guard.SignedIn,
    message_id: str,
    number: Annotated[int, Path(ge=1, le=1000)],
) -> Response:
    source = await _source(request, who, message_id)
    found = mail.attachment(source, number) if source is not None else None
    if found is None:
        return _missing(request, who)
    described, data = found
    response = Response(data, media_type=described.content_type)
    response.headers["Content-Disposition"] = mail.download_name(described.filename)
    return web.secure(response, DOWNLOAD_CSP)


@router.get("/inbox/{message_id}/raw")
async def email_raw(request: Request, who: guard.SignedIn, message_id: str) -> Response:
    source = await _source(request, who, message_id)
    if source is None:
        return _missing(request, who)
    name = "".join(c for c in message_id.upper() if c.isalnum() or c == "-")[:64]
    response = Response(source, media_type="message/rfc822")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}.eml"'
    return web.secure(response)
