"""`/v3/lists/{list_id}/contacts`, copy and transfer, search and suggestions."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query, Request
from fastapi.responses import JSONResponse

from dovecote.apis.clicksend.contact_render import contact, contact_list
from dovecote.apis.clicksend.envelope import envelope
from dovecote.apis.clicksend.listing import ListParams, render_page
from dovecote.apis.deps import Conn, CurrentPrincipal
from dovecote.contacts import service
from dovecote.core.errors import InvalidInput
from dovecote.storage.listing import MAX_PAGE, Page

router = APIRouter(tags=["Contacts"])

Id = Annotated[int, Path(ge=1, le=2**31 - 1)]
JsonBody = Annotated[Any, Body()]


def _values(body: Any) -> dict[str, Any]:
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise InvalidInput("The body must be a JSON object of contact fields.")
    return body


@router.get("/lists/{list_id}/contacts", summary="Get all Contacts in a List")
async def list_contacts(
    request: Request, list_id: Id, params: ListParams, principal: CurrentPrincipal, conn: Conn
) -> JSONResponse:
    page = await service.list_contacts(conn, principal, list_id, params)
    data = render_page(page, request, lambda row: contact(service.contact_from_row(row)))
    return envelope(data, "Here are your data.")


@router.post("/lists/{list_id}/contacts", summary="Create a new contact")
async def create_contact(
    list_id: Id, principal: CurrentPrincipal, conn: Conn, body: JsonBody = None
) -> JSONResponse:
    item = await service.create_contact(conn, principal, list_id, _values(body))
    return envelope(contact(item), "New contact has been created.")


@router.get("/lists/{list_id}/contacts/{contact_id}", summary="Get a specific contact")
async def get_contact(
    list_id: Id, contact_id: Id, principal: CurrentPrincipal, conn: Conn
) -> JSONResponse:
    item = await service.get_contact(conn, principal, list_id, contact_id)
    return envelope(contact(item), "Here are your data.")


@router.put("/lists/{list_id}/contacts/{contact_id}", summary="Update a specific contact")
async def update_contact(
    list_id: Id, contact_id: Id, principal: CurrentPrincipal, conn: Conn, body: JsonBody = None
) -> JSONResponse:
    item = await service.update_contact(conn, principal, list_id, contact_id, _values(body))
    return envelope(contact(item), f"Contact #{contact_id} has been updated.")


@router.delete("/lists/{list_id}/contacts/{contact_id}", summary="Delete a specific contact")
async def delete_contact(
    list_id: Id, contact_id: Id, principal: CurrentPrincipal, conn: Conn
) -> JSONResponse:
    await service.delete_contact(conn, principal, list_id, contact_id)
    return envelope([], f"Contact #{contact_id} has been deleted.")


@router.put(
    "/lists/{from_list_id}/contacts/{contact_id}/copy/{to_list_id}", summary="Copy a Contact"
)
async def copy_contact(
    from_list_id: Id, contact_id: Id, to_list_id: Id, principal: CurrentPrincipal, conn: Conn
) -> JSONResponse:
    item = await service.copy_contact(conn, principal, from_list_id, contact_id, to_list_id)
    return envelope(contact(item), f"Contact #{contact_id} has been copied to List #{to_list_id}")


# The SDKs' path, then the spec's (the same operation without `transfer/`).
@router.put(
    "/lists/{from_list_id}/contacts/{contact_id}/transfer/{to_list_id}",
    summary="Transfer a Contact",
)
@router.put("/lists/{from_list_id}/contacts/{contact_id}/{to_list_id}", include_in_schema=False)
async def transfer_contact(
    from_list_id: Id, contact_id: Id, to_list_id: Id, principal: CurrentPrincipal, conn: Conn
) -> JSONResponse:
    item = await service.transfer_contact(conn, principal, from_list_id, contact_id, to_list_id)
    return envelope(
        contact(item), f"Contact #{contact_id} has been transferred to List #{to_list_id}"
    )


@router.get("/contact-suggestions", summary="List Contact Suggestions")
async def contact_suggestions(
    principal: CurrentPrincipal,
    conn: Conn,
    q: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 15,
) -> JSONResponse:
    items = await service.suggestions(conn, principal, q, limit)
    return envelope([contact(item) for item in items], "Here are your data.")


@router.get("/search/contacts-lists", summary="Search Contacts-Lists")
async def search_contacts_lists(
    request: Request,
    principal: CurrentPrincipal,
    conn: Conn,
    q: Annotated[str | None, Query(max_length=200)] = None,
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
    limit: Annotated[int, Query(ge=15, le=100)] = 15,
) -> JSONResponse:
    found = await service.search(conn, principal, q, page, limit)
    rows: list[dict[str, Any]] = []
    for item in found.lists:
        rendered = contact_list(item)
        rows.append(
            {
                "contact": item.email_id,
                "contacts_count": rendered["_contacts_count"],
                "id": item.id,
                "name": item.name,
                "type": "list",
            }
        )
    for person in found.contacts:
        name = " ".join(
            part for part in (person.fields["first_name"], person.fields["last_name"]) if part
        )
        rows.append(
            {
                "contact": person.fields["phone_number"] or person.fields["email"],
                "contacts_count": None,
                "id": person.id,
                "name": name,
                "type": "contact",
            }
        )
    result = Page(rows=rows, total=found.total, page=page, limit=limit)
    return envelope(render_page(result, request, dict), "Here are some search result.")
