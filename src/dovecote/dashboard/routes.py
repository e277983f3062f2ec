"""The dashboard's one router, mounted at `/` by the wiring table.

Its paths (`/`, `/login`, `/logout`, `/messages…`, `/phone…`, `/inbox…`, `/activity…`,
`/sandbox-rules…`, `/static/…`) are none of the APIs' (`/v3/…`, `/sandbox/…`, `/healthz`, …).
"""

from __future__ import annotations

from fastapi import APIRouter

from dovecote.dashboard import (
    activity,
    assets,
    auth,
    inbox,
    media,
    messages,
    overview,
    phone,
    sandbox,
    settings_page,
)

router = APIRouter(include_in_schema=False)
for module in (
    auth,
    overview,
    media,
    messages,
    phone,
    inbox,
    activity,
    sandbox,
    settings_page,
    assets,
):
    router.include_router(module.router)
