"""Every route of every API family, mounted in one place: the whole surface at a glance."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from dovecote.apis import health
from dovecote.apis.clicksend import account, reference, subaccounts


def clicksend_router() -> APIRouter:
    v3 = APIRouter(prefix="/v3")
    for module in (account, subaccounts, reference):
        v3.include_router(module.router)
    return v3


def mount(app: FastAPI) -> None:
    app.include_router(health.router)
    app.include_router(clicksend_router())
