"""ClickSend's response envelope: `{http_code, response_code, response_msg, data}`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi.responses import JSONResponse

# The spec's table: every HTTP status maps to one response code (405 answers NOT_FOUND).
RESPONSE_CODES = {
    200: "SUCCESS",
    400: "BAD_REQUEST",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "NOT_FOUND",
    413: "BAD_REQUEST",
    415: "BAD_REQUEST",
    422: "BAD_REQUEST",
    429: "TOO_MANY_REQUESTS",
    500: "INTERNAL_SERVER_ERROR",
}


def envelope(
    data: Any,
    message: str = "Here are your data.",
    *,
    http_code: int = 200,
    response_code: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    body = {
        "http_code": http_code,
        "response_code": response_code or RESPONSE_CODES.get(http_code, "BAD_REQUEST"),
        "response_msg": message,
        "data": data,
    }
    return JSONResponse(body, status_code=http_code, headers=headers)


def error(
    http_code: int,
    message: str,
    *,
    response_code: str | None = None,
    data: Any = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    # ClickSend answers 413/415/422-class problems as 400; keep clients on known codes.
    status = http_code if http_code in (400, 401, 403, 404, 405, 429, 500) else 400
    return envelope(
        data if data is not None else [],
        message,
        http_code=status,
        response_code=response_code,
        headers=headers,
    )
