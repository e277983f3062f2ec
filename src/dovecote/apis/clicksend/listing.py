"""Parse ClickSend's `page`, `limit`, `q`, `order_by`, `operator` and render a page."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Annotated, Any, Literal, cast

from fastapi import Depends, Query, Request

from dovecote.core.errors import InvalidInput
from dovecote.storage.listing import ListQuery, Page, check_page


async def list_params(  # async: a sync dependency would cost a thread hop per request
    page: Annotated[str, Query(description="Page number, from 1.")] = "1",
    limit: Annotated[str, Query(description="Items per page, 15 to 100.")] = "15",
    q: Annotated[str | None, Query(description="field:value,field2:value")] = None,
    order_by: Annotated[str | None, Query(description="field:asc|desc")] = None,
    operator: Annotated[str, Query(description="AND (or AN) | OR")] = "AND",
) -> ListQuery:
    page_number = _integer(page, "page")
    per_page = _integer(limit, "limit")
    check_page(page_number)
    if not 15 <= per_page <= 100:
        raise InvalidInput("limit must be between 15 and 100.", field="limit")
    op = operator.strip().upper()
    if op == "AN":  # the spec documents this spelling
        op = "AND"
    if op not in ("AND", "OR"):
        raise InvalidInput("operator must be AND or OR.", field="operator")
    return ListQuery(
        filters=_pairs(q, "q"),
        operator=cast(Literal["AND", "OR"], op),
        order=[(name, _direction(value)) for name, value in _pairs(order_by, "order_by")],
        page=page_number,
        limit=per_page,
    )


ListParams = Annotated[ListQuery, Depends(list_params)]


def _integer(value: str, name: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise InvalidInput(f"{name} must be an integer.", field=name) from None


def _pairs(raw: str | None, name: str) -> list[tuple[str, str]]:
    if not raw:
        return []
    pairs = []
    for item in raw.split(","):
        key, sep, value = item.partition(":")
        if not sep or not key.strip():
            raise InvalidInput(f"{name} must look like field:value,field2:value.", field=name)
        pairs.append((key.strip(), value.strip()))
    return pairs


def _direction(value: str) -> Literal["asc", "desc"]:
    direction = value.lower() or "asc"
    if direction not in ("asc", "desc"):
        raise InvalidInput("order_by direction must be asc or desc.", field="order_by")
    return cast(Literal["asc", "desc"], direction)


def render_page(
    page: Page, request: Request, render: Callable[[Mapping[str, Any]], dict[str, Any]]
) -> dict[str, Any]:
    def url(number: int) -> str:
        return str(request.url.include_query_params(page=number))

    start = (page.page - 1) * page.limit
    count = len(page.rows)
    return {
        "total": page.total,
        "per_page": page.limit,
        "current_page": page.page,
        "last_page": page.last_page,
        "next_page_url": url(page.page + 1) if page.page < page.last_page else None,
        "prev_page_url": url(page.page - 1) if page.page > 1 else None,
        "from": start + 1 if count else None,
        "to": start + count if count else None,
        "data": [render(row) for row in page.rows],
    }
