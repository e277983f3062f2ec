"""`POST /v3/email/templates-images/{template_id}`: an image for a user's email template,
sent as base64 (`image`) or fetched from a URL (`url`); the answer is the link to embed."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from dovecote.apis.clicksend.envelope import envelope
from dovecote.apis.deps import DetachedPrincipal, RuntimeDep, link_base
from dovecote.channels.email import template_images
from dovecote.core.errors import InvalidInput
from dovecote.files import links
from dovecote.pipeline import fetch, uploads

router = APIRouter(tags=["Email Marketing"])

TemplateId = Annotated[int, Path(ge=1, le=2**31 - 1)]


class ImageIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    image: str | None = Field(default=None, min_length=1, description="The image, base64-encoded.")
    url: str | None = Field(default=None, min_length=1, max_length=2000)


@router.post("/email/templates-images/{template_id}", summary="Upload Image to Specific Template")
async def upload_image(
    template_id: TemplateId,
    body: ImageIn,
    request: Request,
    principal: DetachedPrincipal,
    runtime: RuntimeDep,
) -> JSONResponse:
    settings = runtime.settings
    if (body.image is None) == (body.url is None):
        raise InvalidInput("Give the image either as base64 `image` or as a `url`.", field="image")
    if body.image is not None:
        try:
            data, field = uploads.decode(body.image), "image"
        except InvalidInput:
            raise InvalidInput("image: not valid base64.", field="image") from None
    else:
        # Fetched before any database connection is taken: the fetch may wait on
        # someone's server for seconds (SQLite has one connection).
        assert body.url is not None
        fetched = await fetch.fetch(
            body.url,
            field="url",
            max_bytes=template_images.MAX_BYTES,
            allow_private=settings.fetch_allow_private,
            timeout=settings.fetch_timeout,
        )
        data, field = fetched.content, "url"
    async with runtime.engine.begin() as conn:
        key = await template_images.add_image(
            conn, runtime.files, principal, template_id, data, field=field
        )
    url = links.signed_url(
        key,
        secret=settings.secret_key,
        base_url=link_base(request, settings),
        expires_at=int(time.time()) + template_images.LINK_SECONDS,
    )
    return envelope(url, "Here is your uploaded image.")
