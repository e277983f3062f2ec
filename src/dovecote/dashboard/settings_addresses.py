"""Settings › Sender addresses: the account's allowed email addresses
(`/v3/email/addresses`) with their verification state. Adding one also mails its
verification, as a client does with the API's two calls (create, then
`PUT /email/address-verify/{id}/send`), in one transaction: an address whose email was
refused (rate limit, an account that may not send) is not left behind half-added.
Everything here needs `access_email`, as the API does.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncConnection

from dovecote.channels.email import addresses
from dovecote.core.errors import DomainError
from dovecote.core.models import Principal
from dovecote.dashboard import guard, web
from dovecote.dashboard import settings_forms as forms
from dovecote.storage.listing import ListQuery

router = APIRouter(include_in_schema=False, route_class=guard.PageRoute)

FLAG = addresses.PERMISSION
Allowed = Annotated[web.Viewer, Depends(guard.viewer_with(FLAG))]
TITLE = "Sender addresses"
AddressId = Annotated[int, Path(ge=1, le=2**31 - 1)]


async def _page(
    request: Request, who: web.Viewer, *, error: DomainError | None = None, notice: str = ""
) -> Response:
    async with web.runtime_of(request).engine.connect() as conn:
        found = await addresses.list_addresses(conn, who.principal, ListQuery(limit=forms.SHOWN))
    rows = [addresses.address_from_row(row) for row in found.rows]
    return forms.section(
        request,
        who,
        "_addresses.html",
        {"addresses": rows},
        title=TITLE,
        error=error,
        notice=notice,
    )


async def _send(
    request: Request, conn: AsyncConnection, principal: Principal, address_id: int
) -> None:
    runtime = web.runtime_of(request)
    await addresses.send_verification(
        conn,
        principal,
        address_id,
        settings=runtime.settings,
        mail=runtime.system_mail,
        limiter=runtime.limiter,
    )


@router.get("/settings/addresses")
async def addresses_page(request: Request, who: Allowed) -> Response:
    return await _page(request, who)


@router.post("/settings/addresses")
async def add(request: Request) -> Response:
    guarded = await forms.posted(request, FLAG)
    if not isinstance(guarded, tuple):
        return guarded
    who, fields = guarded
    try:
        async with web.runtime_of(request).engine.begin() as conn:
            address = await addresses.create_address(conn, who.principal, fields.get("email"))
            await _send(request, conn, who.principal, address.id)
    except DomainError as exc:
        return await _page(request, who, error=exc)
    return await _page(
        request, who, notice=f"{address.email} added; a verification email is on its way."
    )


@router.post("/settings/addresses/{address_id}/verify")
async def resend(request: Request, address_id: AddressId) -> Response:
    guarded = await forms.posted(request, FLAG)
    if not isinstance(guarded, tuple):
        return guarded
    who, _ = guarded
    try:
        async with web.runtime_of(request).engine.begin() as conn:
            await _send(request, conn, who.principal, address_id)
    except DomainError as exc:
        return await _page(request, who, error=exc)
    return await _page(request, who, notice="Verification email sent again.")


@router.post("/settings/addresses/{address_id}/delete")
async def delete(request: Request, address_id: AddressId) -> Response:
    guarded = await forms.posted(request, FLAG)
    if not isinstance(guarded, tuple):
        return guarded
    who, _ = guarded
    try:
        async with web.runtime_of(request).engine.begin() as conn:
            await addresses.delete_address(conn, who.principal, address_id)
    except DomainError as exc:
        return await _page(request, who, error=exc)
    return await _page(request, who, notice="Address deleted.")
