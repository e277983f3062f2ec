"""The sandbox phone: each handset the account texts as a conversation, and a box to
answer as that handset. A reply goes through `channels.sms.inbound.simulate_inbound`,
the code behind `POST /sandbox/sms/inbound`, so it is threaded, opted out, automated
and counted exactly as an API-simulated reply is.

What a user sees is scoped as SMS history is (`scope_for`: the account with
`access_reporting`, else the user's own messages); answering needs no permission,
as the API's sandbox endpoint needs none.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from dovecote.channels.sms import inbound
from dovecote.core.errors import DomainError
from dovecote.dashboard import guard, store, web
from dovecote.pipeline.scope import scope_for

router = APIRouter(include_in_schema=False, route_class=guard.PageRoute)

# Where a reply goes when nothing was sent to the handset yet (`to` may not be empty).
DEFAULT_TO = "Dovecote"


@router.get("/phone")
async def phones(request: Request, who: guard.SignedIn) -> Response:
    async with web.runtime_of(request).engine.connect() as conn:
        found = await store.threads(conn, scope_for(who.principal))
    return web.render(request, who, "phones.html", {"threads": found}, title="Sandbox phone")


async def _thread_page(
    request: Request, who: web.Viewer, number: str, error: str = "", status_code: int = 200
) -> Response:
    async with web.runtime_of(request).engine.connect() as conn:
        rows = await store.thread(conn, scope_for(who.principal), number)
        found = await store.threads(conn, scope_for(who.principal))
    return web.render(
        request,
        who,
        "phone.html",
        {"number": number, "rows": rows, "threads": found, "error": error},
        status_code=status_code,
        title=f"Phone {number}",
    )


@router.get("/phone/{number}")
async def phone(request: Request, who: guard.SignedIn, number: str) -> Response:
    return await _thread_page(request, who, number[:64])


@router.get("/phone/{number}/live")
async def phone_live(request: Request, who: guard.SignedIn, number: str) -> Response:
    bubble = web.templates.get_template("_bubble.html")
    scope = scope_for(who.principal)

    async def render_ids(ids: list[str]) -> list[str]:
        async with web.runtime_of(request).engine.connect() as conn:
            rows = await store.thread(conn, scope, number[:64], ids)
        return [bubble.render(row=row, viewer=who) for row in rows]

    return web.sse(request, who.principal.account.id, render_ids)


@router.post("/phone/{number}/reply")
async def reply(request: Request, who: guard.SignedIn, number: str) -> Response:
    fields = await web.form(request)
    if not web.csrf_ok(request, who, fields):
        return web.refused(request, who)
    number = number[:64]
    runtime = web.runtime_of(request)
    try:
        async with runtime.engine.begin() as conn:
            to = await store.latest_sender_to(conn, scope_for(who.principal), number)
            await inbound.simulate_inbound(
                conn,
                runtime.events,
                who.principal,
                sender=number,
                recipient=to or DEFAULT_TO,
                body=fields.get("body", "")[:10_000],
            )
    except DomainError as exc:
        return await _thread_page(request, who, number, exc.message, 400)
    if request.headers.get("hx-request"):
        return Response(status_code=204)  # the bubble arrives by the live stream
    return RedirectResponse(f"/phone/{number}", status_code=303)
