"""Settings: API keys. Each user has one key (ClickSend's model); rotating replaces it,
and the new key is shown once, in the answer to the rotating POST (never stored, never
shown again). Users with `access_users` see the account's users and their permissions
and can rotate their keys, under the API's rules (`accounts.service.regenerate_key`:
only the main user rotates the main user's key, nobody takes the key of a user holding
a permission it lacks).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from dovecote.accounts import service as accounts
from dovecote.core.errors import DomainError
from dovecote.core.models import User
from dovecote.dashboard import guard, web
from dovecote.storage.listing import ListQuery
from dovecote.storage.tables import ACCESS_FLAGS

router = APIRouter(include_in_schema=False, route_class=guard.PageRoute)

USERS_SHOWN = 100


async def _page(
    request: Request,
    who: web.Viewer,
    *,
    new_key: tuple[str, str] | None = None,
    error: str = "",
    status_code: int = 200,
) -> Response:
    users: list[User] = []
    if who.can("access_users"):
        async with web.runtime_of(request).engine.connect() as conn:
            _, users = await accounts.list_subaccounts(
                conn, who.principal, ListQuery(limit=USERS_SHOWN)
            )
    return web.render(
        request,
        who,
        "settings.html",
        {"users": users, "flags": ACCESS_FLAGS, "new_key": new_key, "error": error},
        status_code=status_code,
        title="Settings",
    )


@router.get("/settings")
async def settings_page(request: Request, who: guard.SignedIn) -> Response:
    return await _page(request, who)


@router.post("/settings/users/{user_id}/api-key")
async def rotate_key(request: Request, who: guard.SignedIn, user_id: int) -> Response:
    if not web.csrf_ok(request, who, await web.form(request)):
        return web.refused(request, who)
    try:
        async with web.runtime_of(request).engine.begin() as conn:
            created = await accounts.regenerate_key(conn, who.principal, user_id)
    except DomainError as exc:
        return await _page(request, who, error=exc.message, status_code=403)
    return await _page(request, who, new_key=(created.user.username, created.api_key))
