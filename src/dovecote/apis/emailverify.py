"""EmailVerify (PayPI-compatible): `POST /sendCode` and `POST /checkCode`.

Wire format only: every answer is `{"success": bool, "message": str}` with PayPI's exact
messages and status codes; the codes themselves live in `channels/verify/codes.py`. Errors raised here
are rendered in the same shape by `apis.errors` (the EmailVerify family is chosen by path).
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from dovecote.apis.deps import Conn, RuntimeDep, client_ip, current_principal
from dovecote.channels.verify import codes as otp
from dovecote.channels.verify import history
from dovecote.core.errors import DomainError, Forbidden, InvalidInput, Unauthorized
from dovecote.core.models import Principal
from dovecote.pipeline.system_mail import REFUSAL_CODES

router = APIRouter(tags=["EmailVerify"])

SENT: Final = "Verification email sent"
SEND_FAILED: Final = "Unable to send email - please check the email address and try again"
VERIFIED: Final = "email successfully verified"
NOT_VALID: Final = "Given code is not valid"
TRIES_EXCEEDED: Final = "Number of tries exceeded, please request a new code"
AUTH_INVALID: Final = "Authorization header value invalid"
BAD_JSON: Final = "Invalid request body - expected a JSON object"
CHECK_FIELDS: Final = "Invalid request body - email and code are required"


class VerifyReply(BaseModel):
    success: bool
    message: str


async def verify_principal(request: Request, conn: Conn, runtime: RuntimeDep) -> Principal:
    """The shared authentication (Bearer, or Basic like every family), with PayPI's answer
    for any key it refuses: a missing, unknown or banned account's key alike."""
    try:
        return await current_principal(request, conn, runtime)
    except (Unauthorized, Forbidden):
        raise Unauthorized(AUTH_INVALID) from None


VerifyPrincipal = Annotated[Principal, Depends(verify_principal)]


def _schema(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    body = {"type": "object", "properties": properties, "required": required}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": body}}}}


def _reply(success: bool, message: str, status: int = 200) -> JSONResponse:
    return JSONResponse({"success": success, "message": message}, status_code=status)


async def _json_object(request: Request) -> dict[str, Any]:
    # Parsed by hand, not by a FastAPI body model, so that every malformed body gets
    # PayPI's `{success, message}` with a message of this API rather than pydantic's.
    try:
        data = json.loads(await request.body())
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput(BAD_JSON) from None
    if not isinstance(data, dict):
        raise InvalidInput(BAD_JSON)
    return data


_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": VerifyReply, "description": "Malformed body"},
    401: {"model": VerifyReply, "description": "Invalid API key"},
    429: {"model": VerifyReply, "description": "Rate limited"},
}


@router.post(
    "/sendCode",
    summary="Send verification code",
    response_model=VerifyReply,
    responses=_ERRORS,
    openapi_extra=_schema({"email": {"type": "string", "format": "email"}}, ["email"]),
)
async def send_code(
    request: Request, conn: Conn, runtime: RuntimeDep, principal: VerifyPrincipal
) -> JSONResponse:
    body = await _json_object(request)
    email = body.get("email")
    if not isinstance(email, str):
        raise InvalidInput(SEND_FAILED)
    try:
        await otp.send_code(
            conn,
            principal,
            email,
            settings=runtime.settings,
            limiter=runtime.limiter,
            mail=runtime.system_mail,
            events=runtime.events,
            originating_ip=client_ip(request),
        )
    except otp.UndeliverableAddress:
        raise InvalidInput(SEND_FAILED) from None
    except DomainError as exc:
        # An account that may not send (banned, not active, no credit): PayPI's answer
        # for a key that may not use the API, as for a banned account's key at the door.
        if exc.code in REFUSAL_CODES:
            raise Unauthorized(AUTH_INVALID) from None
        raise
    return _reply(True, SENT)


@router.post(
    "/checkCode",
    summary="Check verification code",
    response_model=VerifyReply,
    responses={**_ERRORS, 403: {"model": VerifyReply, "description": "Tries exceeded"}},
    openapi_extra=_schema(
        {"email": {"type": "string"}, "code": {"type": "string"}}, ["email", "code"]
    ),
)
async def check_code(
    request: Request, conn: Conn, runtime: RuntimeDep, principal: VerifyPrincipal
) -> JSONResponse:
    body = await _json_object(request)
    email, code = body.get("email"), body.get("code")
    # A number is accepted for `code`: the spec's own example default is the number 123456.
    if isinstance(code, int) and not isinstance(code, bool):
        code = str(code)
    if not isinstance(email, str) or not isinstance(code, str):
        raise InvalidInput(CHECK_FIELDS)
    result = await otp.check_code(
        conn,
        principal,
        email,
        code,
        settings=runtime.settings,
        limiter=runtime.limiter,
        events=runtime.events,
    )
    if result is otp.CheckResult.APPROVED:
        return _reply(True, VERIFIED)
    if result is otp.CheckResult.TOO_MANY_ATTEMPTS:
        return _reply(False, TRIES_EXCEEDED, 403)
    return _reply(False, NOT_VALID)


@router.get(
    "/verifyEvents",
    summary="List EmailVerify events (Dovecote)",
    responses={400: {"model": VerifyReply}, 401: {"model": VerifyReply}},
)
async def list_events(
    conn: Conn,
    principal: VerifyPrincipal,
    email: Annotated[str | None, Query(max_length=320)] = None,
    event: Annotated[str | None, Query(max_length=32)] = None,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    limit: Annotated[int, Query(ge=1, le=history.MAX_LIMIT)] = 50,
) -> JSONResponse:
    """What happened to the account's codes: `sent`, `approved`, `failed_attempt`,
    `expired`, `max_attempts_reached`, newest first. Not part of PayPI's API: Dovecote's,
    in the same `{success, message}` shape."""
    found = await history.list_events(
        conn, principal, email=email, event=event, page=page, limit=limit
    )
    items = [history.event_from_row(row) for row in found.rows]
    return JSONResponse(
        {
            "success": True,
            "message": "EmailVerify events",
            "total": found.total,
            "page": found.page,
            "limit": found.limit,
            "last_page": found.last_page,
            "events": [
                {
                    "event": item.event,
                    "email": item.email,
                    "message_id": item.message_id,
                    "occurred_at": item.occurred_at,
                    "attempt": item.attempt,
                    "attempts_left": item.attempts_left,
                    "user_id": item.user_id,
                }
                for item in items
            ],
        }
    )
