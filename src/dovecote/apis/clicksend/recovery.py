"""`/v3/forgot-username`, `/v3/forgot-password`, `/v3/forgot-password/verify` (no
authentication). The first two answer the same whether or not an account matches."""

from __future__ import annotations

import time

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from dovecote.accounts import recovery
from dovecote.apis.clicksend.account_mail import account_mail, limit_client, mail_allowance
from dovecote.apis.clicksend.envelope import envelope
from dovecote.apis.deps import Conn, RuntimeDep

router = APIRouter(tags=["Forgot Account"])

SENT = "An email notification has been sent."


class ForgotUsernameBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    email: str | None = Field(default=None, max_length=320)
    # The spec types it as a number, SDK 5 as a string: either is read.
    phone_number: str | int | None = None
    country: str | None = Field(default=None, max_length=2)


class ForgotPasswordBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    username: str = Field(min_length=1, max_length=100)


class ResetPasswordBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    subaccount_id: int = Field(ge=1, le=2**31 - 1)
    activation_token: str = Field(min_length=1, max_length=200)
    password: str = Field(max_length=200)


@router.put("/forgot-username", summary="Forgot Username")
async def forgot_username(
    body: ForgotUsernameBody, request: Request, conn: Conn, runtime: RuntimeDep
) -> JSONResponse:
    await limit_client(request, runtime, runtime.settings.recovery_rate_limit, "recovery")
    phone = None if body.phone_number is None else str(body.phone_number)
    await recovery.forgot_username(
        conn,
        email=body.email,
        phone=phone,
        country=body.country,
        mail=account_mail(runtime),
        allow=mail_allowance(runtime),
    )
    return envelope([], SENT)


@router.put("/forgot-password", summary="Forgot Password")
async def forgot_password(
    body: ForgotPasswordBody, request: Request, conn: Conn, runtime: RuntimeDep
) -> JSONResponse:
    await limit_client(request, runtime, runtime.settings.recovery_rate_limit, "recovery")
    await recovery.forgot_password(
        conn,
        body.username,
        mail=account_mail(runtime),
        allow=mail_allowance(runtime),
        ttl=runtime.settings.password_reset_token_ttl,
        now=int(time.time()),
    )
    return envelope([], SENT)


@router.put("/forgot-password/verify", summary="Verify Forgot Password")
async def reset_password(
    body: ResetPasswordBody, request: Request, conn: Conn, runtime: RuntimeDep
) -> JSONResponse:
    # Counted like the other two: guessing tokens at full speed earns a 429.
    await limit_client(request, runtime, runtime.settings.recovery_rate_limit, "recovery")
    await recovery.reset_password(
        conn, body.subaccount_id, body.activation_token, body.password, now=int(time.time())
    )
    return envelope([], "Your password has been updated.")
