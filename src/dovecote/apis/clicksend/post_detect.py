"""`POST /v3/post/letters/detect-address`: a letter's (base64 PDF) or a string's address."""

from __future__ import annotations

import asyncio
import base64
import binascii

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from dovecote.accounts import service as accounts
from dovecote.apis.clicksend.envelope import envelope
from dovecote.apis.deps import DetachedPrincipal
from dovecote.channels.post import detect, document
from dovecote.core.errors import InvalidInput

router = APIRouter(tags=["Post Address Detection"])
# base64 of the largest letter accepted (4 characters per 3 bytes).
MAX_CONTENT = document.MAX_BYTES * 4 // 3 + 4


class DetectIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    content: str | None = Field(default=None, max_length=MAX_CONTENT)
    address: str | None = Field(default=None, max_length=2000)


@router.post("/post/letters/detect-address", summary="Detect Address")
async def detect_address(body: DetectIn, principal: DetachedPrincipal) -> JSONResponse:
    accounts.require(principal, "access_post")
    country = principal.account.country or ""
    if body.content:
        try:
            data = base64.b64decode(body.content, validate=True)
        except (binascii.Error, ValueError):
            raise InvalidInput("content: not valid base64.", field="content") from None
        text = await asyncio.to_thread(detect.text_in_window, data)
    elif body.address and body.address.strip():
        text = body.address
    else:
        raise InvalidInput(
            "Send the letter as base64 `content` or an `address` string.",
            field="content",
            code="MISSING_REQUIRED_FIELDS",
        )
    return envelope(detect.split(text, country), "Here is your result.")
