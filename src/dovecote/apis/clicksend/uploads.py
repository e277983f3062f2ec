"""`POST /v3/uploads` (and `?convert=fax|mms|post|csv`): a base64 file in, a URL out."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from dovecote.apis.clicksend.envelope import envelope
from dovecote.apis.deps import Conn, CurrentPrincipal, RuntimeDep, link_base
from dovecote.files import links
from dovecote.pipeline import uploads
from dovecote.pipeline.uploads import Upload

router = APIRouter(tags=["Uploads"])


class UploadIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    content: str = Field(min_length=1, description="The file, base64-encoded.")
    # SDK 6's UploadApi has no query parameter: it sends `convert` in the body.
    convert: str | None = Field(default=None, max_length=16)


def _upload(upload: Upload, url: str) -> dict[str, Any]:
    return {
        "_url": url,
        "date_added": upload.created_at,
        "date_delete": upload.expires_at,
        "file_name": upload.file_name,
        "upload_id": upload.upload_id,
        "user_id": upload.user_id,
        "content_type": upload.content_type,
        "size": upload.size,
    }


@router.post("/uploads", summary="Upload a file converted for fax, MMS, post or CSV")
async def upload_file(
    request: Request,
    body: UploadIn,
    principal: CurrentPrincipal,
    conn: Conn,
    runtime: RuntimeDep,
    convert: Annotated[str | None, Query(max_length=16)] = None,
) -> JSONResponse:
    settings = runtime.settings
    upload = await uploads.create_upload(
        conn,
        runtime.files,
        principal,
        content=body.content,
        convert=convert if convert is not None else body.convert,
        ttl=settings.upload_ttl,
    )
    url = links.signed_url(
        upload.file_key,
        secret=settings.secret_key,
        base_url=link_base(request, settings),
        expires_at=upload.expires_at,
    )
    return envelope(_upload(upload, url), "Your file has been uploaded.")
