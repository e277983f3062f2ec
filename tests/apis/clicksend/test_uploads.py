"""`POST /v3/uploads`: base64 in, converted and stored, a signed URL out that serves it."""

from __future__ import annotations

import base64
import io
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import clicksend
import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from PIL import Image

from dovecote import wiring
from dovecote.app import create_app
from dovecote.files import links
from dovecote.pipeline import uploads as upload_jobs
from dovecote.settings import Settings
from dovecote.storage.tables import uploads
from files_support import ACCESS_KEY, SECRET_KEY, S3Server, s3_server
from media_support import (
    bomb_png,
    encrypted_pdf,
    image,
    load_sdk5,
    pdf,
    sdk5_client,
    sdk5_result,
    sdk6_client,
)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def local(url: str) -> str:
    """The path and query of a URL the app handed out (the test client has its own base)."""
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


async def upload_rows(app: FastAPI) -> list[dict[str, Any]]:
    async with app.state.runtime.engine.connect() as conn:
        return [dict(r) for r in (await conn.execute(sa.select(uploads))).mappings()]


async def test_an_image_converted_for_mms_is_answered_in_the_spec_shape_and_served(
    app: FastAPI, client: httpx.AsyncClient, anon: httpx.AsyncClient
) -> None:
    before = int(time.time())
    response = await client.post(
        "/v3/uploads", params={"convert": "mms"}, json={"content": b64(image("PNG"))}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["response_msg"] == "Your file has been uploaded."
    data = body["data"]
    assert data["file_name"].endswith(".jpg")
    assert data["date_delete"] - data["date_added"] == 7 * 24 * 3600
    assert data["date_added"] >= before
    assert isinstance(data["upload_id"], int)
    assert data["user_id"] == (await client.get("/v3/account")).json()["data"]["user_id"]

    served = await anon.get(local(data["_url"]))  # no credentials: the link authorizes
    assert served.status_code == 200
    assert served.headers["content-type"] == "image/jpeg"
    assert Image.open(io.BytesIO(served.content)).format == "JPEG"
    assert [row["file_name"] for row in await upload_rows(app)] == [data["file_name"]]


async def test_convert_may_come_in_the_body_as_sdk_6_sends_it(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/v3/uploads", json={"content": b64(image("BMP")), "convert": "fax"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["data"]["file_name"].endswith(".pdf")


async def test_a_pdf_for_fax_is_stored_as_sent(
    client: httpx.AsyncClient, anon: httpx.AsyncClient
) -> None:
    document = pdf(pages=2)
    response = await client.post("/v3/uploads?convert=fax", json={"content": b64(document)})
    served = await anon.get(local(response.json()["data"]["_url"]))
    assert served.content == document
    assert served.headers["content-type"] == "application/pdf"


async def test_convert_is_required_and_postcard_converts_as_post(client: httpx.AsyncClient) -> None:
    missing = await client.post("/v3/uploads", json={"content": b64(image("PNG"))})
    assert missing.status_code == 400
    assert "convert is required" in missing.json()["response_msg"]
    postcard = await client.post(
        "/v3/uploads", params={"convert": "postcard"}, json={"content": b64(image("PNG"))}
    )
    assert postcard.json()["data"]["file_name"].endswith(".pdf")


@pytest.mark.parametrize(
    ("params", "content", "code", "words"),
    [
        ({"convert": "mms"}, b64(b"not an image at all"), "INVALID_MEDIA_FILE", "not an image"),
        ({"convert": "mms"}, b64(image("PNG", (300, 300))[:200]), "INVALID_MEDIA_FILE", "image"),
        ({"convert": "fax"}, b64(b"%PDF-1.4 broken"), "BAD_REQUEST", "PDF"),
        ({"convert": "telex"}, b64(image("PNG")), "BAD_REQUEST", "convert"),
        ({"convert": "mms"}, "***not base64***", "BAD_REQUEST", "base64"),
        ({"convert": "csv"}, b64(image("GIF")), "BAD_REQUEST", "CSV"),
        ({"convert": "mms"}, b64(bomb_png()), "INVALID_MEDIA_FILE", "megapixels"),
        ({"convert": "post"}, b64(bomb_png(7000)), "BAD_REQUEST", "7000 × 7000"),
        ({"convert": "fax"}, b64(encrypted_pdf()), "BAD_REQUEST", "encrypted"),
    ],
)
async def test_a_file_that_cannot_be_converted_is_a_clear_400_and_nothing_is_kept(
    app: FastAPI,
    client: httpx.AsyncClient,
    settings: Settings,
    params: dict[str, str],
    content: str,
    code: str,
    words: str,
) -> None:
    response = await client.post("/v3/uploads", params=params, json={"content": content})
    assert response.status_code == 400, response.text
    assert response.json()["response_code"] == code
    assert words in response.json()["response_msg"]
    assert await upload_rows(app) == []


async def test_a_missing_content_is_a_400(client: httpx.AsyncClient) -> None:
    response = await client.post("/v3/uploads", params={"convert": "mms"}, json={})
    assert response.status_code == 400
    assert "content" in response.json()["response_msg"]


async def test_uploads_need_credentials(anon: httpx.AsyncClient) -> None:
    response = await anon.post("/v3/uploads?convert=mms", json={"content": b64(image("PNG"))})
    assert response.status_code == 401


async def test_an_altered_or_expired_link_serves_nothing(
    client: httpx.AsyncClient, anon: httpx.AsyncClient, settings: Settings
) -> None:
    response = await client.post("/v3/uploads?convert=mms", json={"content": b64(image("GIF"))})
    url = response.json()["data"]["_url"]
    key = urlsplit(url).path.removeprefix(links.PATH)
    other = local(url).replace(key, "uploads/ABCDEF.gif")
    assert (await anon.get(other)).status_code == 404
    assert (await anon.get(urlsplit(url).path)).status_code == 404  # unsigned
    expired = links.signed_url(
        key, secret=settings.secret_key, base_url="http://x", expires_at=int(time.time()) - 1
    )
    assert (await anon.get(local(expired))).status_code == 404
    forged = links.signed_url(
        key, secret="another-secret", base_url="http://x", expires_at=int(time.time()) + 60
    )
    assert (await anon.get(local(forged))).status_code == 404


async def test_expired_uploads_are_deleted_with_their_files_from_the_runtimes_store(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings, tmp_path: Path
) -> None:
    kept = (
        await client.post("/v3/uploads?convert=mms", json={"content": b64(image("GIF"))})
    ).json()["data"]
    runtime = app.state.runtime
    key = f"uploads/{kept['file_name']}"
    assert await runtime.files.exists(key)
    # A store the job opened from its settings would be another, empty directory: the
    # file goes only if the job deletes from the store it is given.
    elsewhere = settings.model_copy(update={"files_dir": str(tmp_path / "not-the-runtime-files")})
    context = wiring.job_context(runtime, elsewhere)

    assert await upload_jobs.purge_expired(context, now=kept["date_delete"] - 1) == 0
    assert await upload_jobs.purge_expired(context, now=kept["date_delete"] + 1) == 1

    assert await upload_rows(app) == []
    assert not await runtime.files.exists(key)


# --- stored in an S3-compatible bucket ----------------------------------------------


@pytest.fixture(scope="module")
def s3() -> Iterator[S3Server]:
    with s3_server() as server:
        yield server


async def test_with_a_storage_url_uploads_go_to_the_bucket(
    settings: Settings, s3: S3Server
) -> None:
    bucket = s3.new_bucket()
    configured = settings.model_copy(
        update={
            "storage_url": f"s3://{bucket}/dovecote",
            "s3_endpoint_url": s3.endpoint_url,
            "s3_access_key_id": ACCESS_KEY,
            "s3_secret_access_key": SECRET_KEY,
        }
    )
    application = create_app(configured)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(
            transport=transport,
            base_url="http://testserver",
            auth=(str(settings.owner_username), str(settings.owner_api_key)),
        ) as http:
            response = await http.post(
                "/v3/uploads", params={"convert": "mms"}, json={"content": b64(image("PNG"))}
            )
            name = response.json()["data"]["file_name"]
            served = await http.get(local(response.json()["data"]["_url"]))
    stored = s3.client().get_object(Bucket=bucket, Key=f"dovecote/uploads/{name}")
    assert stored["ContentType"] == "image/jpeg"
    assert stored["Body"].read() == served.content


# --- the official SDKs --------------------------------------------------------------


def test_sdk6_uploads_with_convert_in_the_body(live_server: Any, settings: Settings) -> None:
    api = clicksend.UploadsApi(sdk6_client(live_server.url, settings))
    answer = api.upload_a_media_file_with_http_info(
        body={"content": b64(image("PNG")), "convert": "mms"}
    )
    assert answer.status_code == 200
    data = json.loads(answer.raw_data)["data"]
    assert data["file_name"].endswith(".jpg")
    fetched = httpx.get(data["_url"])
    assert Image.open(io.BytesIO(fetched.content)).format == "JPEG"


def test_sdk5_uploads_with_convert_in_the_query(live_server: Any, settings: Settings) -> None:
    sdk5 = load_sdk5()
    api = sdk5.UploadApi(sdk5_client(sdk5, live_server.url, settings))
    raw = api.uploads_post(sdk5.UploadFile(content=b64(pdf(pages=1))), "fax")
    data = sdk5_result(raw)["data"]
    assert data["file_name"].endswith(".pdf")
    assert httpx.get(data["_url"]).content.startswith(b"%PDF")
