"""`POST /v3/account` (sign-up, no authentication) and account verification.

Sign-up is off unless `DOVECOTE_SIGNUP=open`; then it is limited per client address,
and the new account stays inactive until the token mailed to it is verified.
"""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from dovecote.accounts import signup
from dovecote.apis.clicksend import render
from dovecote.apis.clicksend.account_mail import account_mail, limit, limit_client
from dovecote.apis.clicksend.envelope import envelope
from dovecote.apis.deps import Conn, CurrentPrincipal, RuntimeDep
from dovecote.core.errors import Forbidden

router = APIRouter(tags=["Account"])

ActivationToken = Annotated[str, Path(min_length=1, max_length=200)]


class SignUpBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    # Lengths are the columns' (storage/tables.py).
    username: str = Field(min_length=1, max_length=100)
    password: str = Field(max_length=200)
    user_email: str = Field(min_length=1, max_length=320)
    user_phone: str = Field(min_length=1, max_length=32)
    user_first_name: str = Field(max_length=100)
    user_last_name: str = Field(max_length=100)
    account_name: str = Field(max_length=200)
    country: str = Field(min_length=2, max_length=2)


class VerifySendBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    # ClickSend can text the token; Dovecote always mails it, whatever `type` says.
    type: str | None = Field(default=None, max_length=16)
    country: str | None = Field(default=None, max_length=2)
    user_phone: str | None = Field(default=None, max_length=32)


@router.post("/account", summary="Create a new account")
async def create_account(
    body: SignUpBody, request: Request, conn: Conn, runtime: RuntimeDep
) -> JSONResponse:
    settings = runtime.settings
    if settings.signup != "open":
        raise Forbidden(
            "Sign-up is closed on this server; an operator creates accounts "
            "(DOVECOTE_SIGNUP=open allows it).",
            code="SIGNUP_CLOSED",
        )
    await limit_client(request, runtime, settings.signup_rate_limit, "signup")
    created = await signup.sign_up(
        conn,
        signup.SignUp(
            username=body.username,
            password=body.password,
            email=body.user_email,
            phone=body.user_phone,
            first_name=body.user_first_name,
            last_name=body.user_last_name,
            account_name=body.account_name,
            country=body.country,
        ),
        mail=account_mail(runtime),
        base_url=settings.public_base(),
        ttl=settings.activation_token_ttl,
        now=int(time.time()),
    )
    data = render.account(created.account, created.user, runtime.prices)
    # The only time this key is shown: it is stored hashed.
    data["_subaccount"] = render.subaccount(created.user, created.api_key)
    return envelope(data, "Your account has been created. Check your email to verify it.")


@router.put("/account-verify/send", summary="Send account activation token")
async def send_activation(
    principal: CurrentPrincipal, conn: Conn, runtime: RuntimeDep, body: VerifySendBody | None = None
) -> JSONResponse:
    settings = runtime.settings
    await limit(
        runtime,
        f"{settings.recovery_mails_per_address_per_hour}/hour",
        ("account-verify", str(principal.account.id)),
    )
    user = await signup.send_activation(
        conn,
        principal,
        mail=account_mail(runtime),
        base_url=settings.public_base(),
        ttl=settings.activation_token_ttl,
        now=int(time.time()),
    )
    # Never the token itself (ClickSend's example echoes it): it must prove the mailbox.
    data = {"type": "email", "user_email": user.email, "country": principal.account.country}
    return envelope(data, "Verification sent.")


@router.put("/account-verify/verify/{activation_token}", summary="Verify new account")
async def verify_account(
    activation_token: ActivationToken, conn: Conn, runtime: RuntimeDep
) -> JSONResponse:
    user, account = await signup.activate(conn, activation_token, now=int(time.time()))
    return envelope(
        render.account(account, user, runtime.prices), "Your account has been verified."
    )
