"""Email Activity: SendGrid's query language in a search box, answered by the code
behind `GET /v3/messages` (`activity.search`). A query the server refuses shows the
very message the API would answer (`invalid syntax: 'x' is not a known field`). The
field names are offered as the box's autocomplete list. The CSV holds the rows found
(up to SendGrid's 1,000), written at once: no export job, no mailed link.
"""

from __future__ import annotations

import csv
import io
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from dovecote.activity import search as activity
from dovecote.activity.query.fields import FIELDS
from dovecote.core.csvfile import csv_cell
from dovecote.core.errors import InvalidInput
from dovecote.dashboard import guard, web

router = APIRouter(include_in_schema=False, route_class=guard.PageRoute)

LIMIT = 100
CSV_LIMIT = activity.MAX_LIMIT

QueryText = Annotated[str | None, Query(max_length=4000)]


async def _search(
    request: Request, who: web.Viewer, query: str | None, limit: int
) -> tuple[list[activity.MessageSummary], str]:
    runtime = web.runtime_of(request)
    try:
        async with runtime.engine.connect() as conn:
            found = await activity.search(
                conn, who.principal, runtime.settings, query=query, limit=limit
            )
    except InvalidInput as exc:
        return [], exc.message
    return found, ""


@router.get("/activity")
async def activity_page(request: Request, who: guard.SignedIn, query: QueryText = None) -> Response:
    found, error = await _search(request, who, query, LIMIT)
    context = {
        "query": query or "",
        "found": found,
        "error": error,
        "fields": sorted(FIELDS),
    }
    status_code = 400 if error else 200
    if request.headers.get("hx-request"):
        return web.render(request, who, "_activity_results.html", context, status_code=200)
    return web.render(
        request, who, "activity.html", context, status_code=status_code, title="Email Activity"
    )


@router.get("/activity.csv")
async def activity_csv(request: Request, who: guard.SignedIn, query: QueryText = None) -> Response:
    found, error = await _search(request, who, query, CSV_LIMIT)
    if error:
        return Response(error, status_code=400, media_type="text/plain")
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            "msg_id",
            "from_email",
            "to_email",
            "subject",
            "status",
            "opens_count",
            "clicks_count",
            "last_event_time",
        ]
    )
    for message in found:
        writer.writerow(
            csv_cell(value)
            for value in [
                message.msg_id,
                message.from_email,
                message.to_email,
                message.subject,
                message.status,
                message.opens_count,
                message.clicks_count,
                int(message.last_event_time),
            ]
        )
    response = Response(out.getvalue(), media_type="text/csv")
    response.headers["Content-Disposition"] = 'attachment; filename="email-activity.csv"'
    return web.secure(response)
