"""Error rendering for all three API families, chosen by path.

Every error leaves in the caller's own family format: ClickSend's envelope,
SendGrid's `{"errors": [{"message"}]}` or EmailVerify's `{"success": false, "message"}`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from dovecote.apis.clicksend import envelope as clicksend
from dovecote.core.errors import DomainError, RateLimited

log = logging.getLogger("dovecote.api")

SENDGRID_PREFIXES = ("/v3/messages", "/v3/mail/", "/v3/templates")
EMAILVERIFY_PATHS = ("/sendCode", "/checkCode", "/verifyEvents")


def family(path: str) -> str:
    if path.startswith(SENDGRID_PREFIXES):
        return "sendgrid"
    if path in EMAILVERIFY_PATHS:
        return "emailverify"
    return "clicksend"


def render(
    request: Request,
    status: int,
    message: str,
    *,
    code: str | None = None,
    field: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    kind = family(request.url.path)
    if kind == "sendgrid":
        # SendGrid names the offending field where there is one (`message_id` on a 404)
        # and answers rate limits with exactly `too many requests`.
        if status == 429:
            body: dict[str, Any] = {"errors": [{"message": "too many requests"}]}
        else:
            body = {"errors": [{"field": field, "message": message}]}
        return JSONResponse(body, status_code=status, headers=headers)
    if kind == "emailverify":
        return JSONResponse(
            {"success": False, "message": message}, status_code=status, headers=headers
        )
    return clicksend.error(status, message, response_code=code, headers=headers)


def with_cors(request: Request, response: Response) -> Response:
    """`response` with the headers the app's CORSMiddleware (`app.state.cors`) would add.

    For the 500 handler only: Starlette sends that answer from ServerErrorMiddleware,
    which wraps every middleware of the app, CORS included. The same rule as the
    middleware's own (`CORSMiddleware.send`), read from the same configuration."""
    cors: CORSMiddleware | None = getattr(request.app.state, "cors", None)
    origin = request.headers.get("origin")
    if cors is None or origin is None:
        return response
    response.headers.update(cors.simple_headers)
    explicit = (
        "cookie" in request.headers
        if cors.allow_all_origins
        else cors.is_allowed_origin(origin=origin)
    )
    if explicit:
        cors.allow_explicit_origin(response.headers, origin)
    return response


def _validation_message(exc: RequestValidationError) -> str:
    problems = []
    for err in exc.errors():
        location = [
            str(part) for part in err.get("loc", ()) if part not in ("body", "query", "path")
        ]
        name = ".".join(location) or "body"
        if err.get("type") == "json_invalid":
            return "The request body is not valid JSON."
        problems.append(f"{name}: {err.get('msg', 'invalid')}")
    return "Invalid request: " + "; ".join(problems)


def install(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def domain_error(request: Request, exc: DomainError) -> Response:
        headers: dict[str, str] | None = None
        if isinstance(exc, RateLimited):
            headers = {"Retry-After": str(exc.retry_after)}
        if exc.status == 401 and family(request.url.path) == "clicksend":
            headers = {"WWW-Authenticate": 'Basic realm="dovecote"'}
        return render(
            request, exc.status, exc.message, code=exc.code, field=exc.field, headers=headers
        )

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        return render(request, 400, _validation_message(exc))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        messages = {404: "The requested resource does not exist.", 405: "Method not allowed."}
        message = messages.get(exc.status_code, str(exc.detail))
        # Keeps Starlette's `Allow` header on 405s.
        return render(request, exc.status_code, message, headers=exc.headers)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return with_cors(
            request, render(request, 500, "Something is broken; the error has been logged.")
        )
