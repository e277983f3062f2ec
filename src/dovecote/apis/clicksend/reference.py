"""`/v3/countries` and `/v3/timezones`."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from dovecote.apis.clicksend.envelope import envelope
from dovecote.apis.deps import CurrentPrincipal
from dovecote.core import reference

router = APIRouter(tags=["Reference"])


@router.get("/countries", summary="Get all countries")
async def countries(_: CurrentPrincipal) -> JSONResponse:
    return envelope(reference.countries(), "List of Countries.")


@router.get("/timezones", summary="Get supported list of timezones")
async def timezones(_: CurrentPrincipal) -> JSONResponse:
    return envelope(reference.timezones(), "List of timezones.")
