"""The dashboard's one router, mounted at `/` by the wiring table.

Its paths (`/`, `/login`, `/logout`, `/messages…`, `/phone…`, `/inbox…`, `/activity…`,
`/sandbox-rules…`, `/settings…`, `/static/…`) are none of the APIs' (`/v3/…`, `/sandbox/…`, `/healthz`, …).
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
    settings_addresses,
    settings_page,
    settings_subaccounts,
    settings_templates,
    settings_webhooks,
)

SETTINGS = (
    settings_page,
    settings_subaccounts,
    settings_addresses,
    settings_templates,
    settings_webhooks,
)

PAGES = (auth, overview, media, messages, phone, inbox, activity, sandbox, *SETTINGS, assets)

router = APIRouter(include_in_schema=False)
for module in PAGES:
    router.include_router(module.router)
