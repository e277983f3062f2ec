"""The dashboard's static files (`/static/…`): its own CSS and JS and the vendored
htmx and uPlot (versions and licences in `static/VENDORED.md`). Served by a route of
the dashboard's router, so mounting the dashboard stays one line of the wiring table;
only files that exist under `static/` are answered (no path escapes it)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, Response

from dovecote.dashboard import guard

router = APIRouter(include_in_schema=False, route_class=guard.PageRoute)

ROOT = Path(__file__).parent / "static"
# The vendored files carry their version in their name, so they may be cached for good.
_FILES = {path.relative_to(ROOT).as_posix(): path for path in ROOT.rglob("*") if path.is_file()}
_TYPES = {".js": "text/javascript", ".css": "text/css", ".txt": "text/plain", ".md": "text/plain"}


@router.get("/static/{name:path}")
async def static(name: str) -> Response:
    path = _FILES.get(name)
    if path is None:
        return Response("Not found", status_code=404, media_type="text/plain")
    cache = "public, max-age=31536000, immutable" if name.startswith("vendor/") else "no-cache"
    response = FileResponse(path, media_type=_TYPES.get(path.suffix, "application/octet-stream"))
    response.headers["Cache-Control"] = cache
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
