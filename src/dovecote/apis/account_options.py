"""`/dovecote/accounts/{username}/options` (Dovecote-only): the per-account options that
only `dovecote accounts set` reached — Email Activity's extended history, the tracking
switches, unverified SendGrid senders, known-sender checks, reselling, the SMS opt-out
keywords, EmailVerify's policy (`dovecote.account_options`).

The owner (the operator's account, `DOVECOTE_OWNER_USERNAME`, its main user) reads and
changes any account's options, as the CLI does; an account's own main user may read its
own. Nobody else, and no account changes its own: several options are paid add-ons or
powers (reselling) the operator grants.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body
from fastapi.responses import JSONResponse

from dovecote import account_options
from dovecote.apis.clicksend.envelope import envelope
from dovecote.apis.deps import Conn, CurrentPrincipal, RuntimeDep, is_owner
from dovecote.core.errors import Forbidden, InvalidInput

router = APIRouter(prefix="/dovecote/accounts", tags=["Accounts (Dovecote)"])
JsonBody = Annotated[Any, Body()]


@router.get("/{username}/options", summary="An account's Dovecote options")
async def get_options(
    username: str, principal: CurrentPrincipal, conn: Conn, runtime: RuntimeDep
) -> JSONResponse:
    own = principal.user.is_main and principal.user.username.lower() == username.lower()
    if not (own or is_owner(principal, runtime.settings)):
        raise Forbidden("Only the Dovecote owner, or the account's main user, reads its options.")
    options = await account_options.get_options(conn, username)
    return envelope({"username": username, "options": options})


@router.patch("/{username}/options", summary="Change an account's Dovecote options")
async def set_options(
    username: str,
    principal: CurrentPrincipal,
    conn: Conn,
    runtime: RuntimeDep,
    body: JsonBody = None,
) -> JSONResponse:
    if not is_owner(principal, runtime.settings):
        raise Forbidden("Only the Dovecote owner changes account options.")
    if not isinstance(body, dict) or not body:
        raise InvalidInput("The body must be an object of options to change.")
    changes = account_options.parse_values(body)
    options = await account_options.set_options(conn, username, changes, runtime.settings)
    return envelope({"username": username, "options": options}, "Options updated.")
