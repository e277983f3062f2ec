"""`/v3/countries` and `/v3/timezones`."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from dovecote.apis.clicksend.envelope import envelope
from dovecote.apis.deps import CurrentPrincipal
from dovecote.core import reference

router = APIRouter(tags=["Reference"])


# Public, as ClickSend serves it: both official SDKs (5.0.91 `countries_get`, 6.0.2
# `view_countries`) call it without credentials, so requiring them answered every SDK 401.
@router.get("/countries", summary="Get all countries")
async def countries() -> JSONResponse:
    return envelope(reference.countries(), "List of Countries.")


@router.get("/timezones", summary="Get supported list of timezones")
async def timezones(_: CurrentPrincipal) -> JSONResponse:
    return envelope(reference.timezones(), "List of timezones.")
