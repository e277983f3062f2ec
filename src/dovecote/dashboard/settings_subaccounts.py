"""Settings › Subaccounts: the account's users, created, changed and deleted by the code
behind `/v3/subaccounts` (`accounts.service`), so its rules hold here unchanged:
`access_users` to see or change anyone, nobody grants a permission it lacks, only the
main user changes the main user, a user does not change its own permissions.

A permission box the viewer could not grant is shown disabled and is left out of the
change: revoking what one cannot see granted would be a silent surprise.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response

from dovecote.accounts import service as accounts
from dovecote.core.errors import DomainError, InvalidInput
from dovecote.core.models import User
from dovecote.dashboard import guard, web
from dovecote.dashboard import settings_forms as forms
from dovecote.storage.listing import ListQuery
from dovecote.storage.tables import ACCESS_FLAGS

router = APIRouter(include_in_schema=False, route_class=guard.PageRoute)

FLAG = "access_users"
Allowed = Annotated[web.Viewer, Depends(guard.viewer_with(FLAG))]
TITLE = "Subaccounts"
UserId = Annotated[int, Path(ge=1, le=2**31 - 1)]
PROFILE = ("email", "phone_number", "first_name", "last_name")
REQUIRED = ("api_username", "password", *PROFILE)


def _flags(who: web.Viewer, fields: dict[str, str]) -> dict[str, int]:
    """The boxes the viewer may set: ticked 1, unticked (absent from the form) 0."""
    return {flag: int(flag in fields) for flag in ACCESS_FLAGS if who.can(flag)}


async def _list(
    request: Request,
    who: web.Viewer,
    *,
    error: DomainError | None = None,
    notice: str = "",
    created: accounts.NewUser | None = None,
) -> Response:
    async with web.runtime_of(request).engine.connect() as conn:
        _, users = await accounts.list_subaccounts(
            conn, who.principal, ListQuery(limit=forms.SHOWN)
        )
    context = {"users": users, "flags": ACCESS_FLAGS, "created": created}
    return forms.section(
        request, who, "_subaccounts.html", context, title=TITLE, error=error, notice=notice
    )


@router.get("/settings/subaccounts")
async def subaccounts_page(request: Request, who: Allowed) -> Response:
    return await _list(request, who)


@router.post("/settings/subaccounts")
async def create(request: Request) -> Response:
    guarded = await forms.posted(request, FLAG)
    if not isinstance(guarded, tuple):
        return guarded
    who, fields = guarded
    try:
        missing = [name for name in REQUIRED if not fields.get(name, "").strip()]
        if missing:
            raise InvalidInput(f"{missing[0]} is required.", field=missing[0])
        values: dict[str, Any] = {name: fields[name].strip() for name in REQUIRED[:1] + PROFILE}
        values.update(_flags(who, fields))
        async with web.runtime_of(request).engine.begin() as conn:
            created = await accounts.create_subaccount(
                conn, who.principal, values, fields["password"]
            )
    except DomainError as exc:
        return await _list(request, who, error=exc)
    return await _list(
        request, who, notice=f"Subaccount {created.user.username} created.", created=created
    )


async def _edit(
    request: Request,
    who: web.Viewer,
    user: User,
    *,
    error: DomainError | None = None,
    notice: str = "",
) -> Response:
    context = {"user": user, "flags": ACCESS_FLAGS}
    return forms.section(
        request,
        who,
        "_subaccount.html",
        context,
        title=f"Subaccount {user.username}",
        error=error,
        notice=notice,
    )


@router.get("/settings/subaccounts/{user_id}")
async def edit_page(request: Request, who: Allowed, user_id: UserId) -> Response:
    try:
        async with web.runtime_of(request).engine.connect() as conn:
            user = await accounts.get_subaccount(conn, who.principal, user_id)
    except DomainError as exc:
        return await _list(request, who, error=exc)
    return await _edit(request, who, user)


@router.post("/settings/subaccounts/{user_id}")
async def update(request: Request, user_id: UserId) -> Response:
    guarded = await forms.posted(request, FLAG)
    if not isinstance(guarded, tuple):
        return guarded
    who, fields = guarded
    values: dict[str, Any] = {name: fields[name].strip() for name in PROFILE if name in fields}
    if "notes" in fields:
        values["notes"] = fields["notes"]
    if fields.get("password"):
        values["password"] = fields["password"]
    if fields.get("permissions") == "shown":  # the boxes were on the form
        values.update(_flags(who, fields))
    runtime = web.runtime_of(request)
    try:
        async with runtime.engine.begin() as conn:
            user = await accounts.update_subaccount(conn, who.principal, user_id, values)
    except DomainError as exc:
        try:
            async with runtime.engine.connect() as conn:
                user = await accounts.get_subaccount(conn, who.principal, user_id)
        except DomainError:
            return await _list(request, who, error=exc)
        return await _edit(request, who, user, error=exc)
    return await _edit(request, who, user, notice="Saved.")


@router.post("/settings/subaccounts/{user_id}/delete")
async def delete(request: Request, user_id: UserId) -> Response:
    guarded = await forms.posted(request, FLAG)
    if not isinstance(guarded, tuple):
        return guarded
    who, _ = guarded
    try:
        async with web.runtime_of(request).engine.begin() as conn:
            user = await accounts.get_subaccount(conn, who.principal, user_id)
            await accounts.delete_subaccount(conn, who.principal, user_id)
    except DomainError as exc:
        return await _list(request, who, error=exc)
    return await _list(request, who, notice=f"Subaccount {user.username} deleted.")
