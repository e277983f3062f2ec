"""`/v3/reseller…`: a reseller's settings, its client accounts, credit transfers, and the
two calls its public sign-up page makes without credentials (branding by subdomain,
`accounts-public`). The rules are `reseller/`'s; see docs/reseller.md."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator

from dovecote.apis.clicksend import render
from dovecote.apis.clicksend.account_mail import account_mail, limit_client
from dovecote.apis.clicksend.bodies import UpdateBody
from dovecote.apis.clicksend.envelope import envelope
from dovecote.apis.clicksend.listing import ListParams, render_page
from dovecote.apis.deps import Conn, CurrentPrincipal, RuntimeDep
from dovecote.core.models import Account, User
from dovecote.reseller import clients, program
from dovecote.reseller.program import Program
from dovecote.reseller.store import split

router = APIRouter(tags=["Reseller"])

ClientUserId = Annotated[int, Path(ge=1, le=2**31 - 1)]
Subdomain = Annotated[str, Path(min_length=1, max_length=63)]


def _number(hundredths: int) -> int | float:
    value = Decimal(hundredths) / 100
    return int(value) if value == value.to_integral_value() else float(value)


def _settings(found: Program, *, trial_as_text: bool) -> dict[str, Any]:
    trial = Decimal(found.trial_balance_micros) / 1_000_000
    return {
        "reseller_user_id": found.reseller_user_id,
        "subdomain": found.subdomain,
        "company_name": found.company_name,
        "colour_navigation": found.colour_navigation,
        "logo_url_light": found.logo_url_light,
        "logo_url_dark": found.logo_url_dark,
        "allow_public_signups": int(found.allow_public_signups),
        "default_margin": _number(found.default_margin_bp),
        "default_margin_numbers": _number(found.default_margin_numbers_bp),
        # The spec's examples: "500.00" when read, 50 when just saved.
        "trial_balance": f"{trial:.2f}" if trial_as_text else _number(int(trial * 100)),
    }


def _client(user: User, account: Account, runtime: RuntimeDep, api_key: str | None = None) -> Any:
    data = render.account(account, user, runtime.prices)
    if api_key is not None:  # shown once, when the client is created: keys are kept hashed
        data["_subaccount"] = render.subaccount(user, api_key)
    return data


class ProgramBody(UpdateBody):
    """`PUT /reseller`: the spec lists every field as required; a field left out keeps
    its value (an update changes what it is given, as `PUT /account` does)."""

    subdomain: str | None = Field(default=None, max_length=63)
    company_name: str | None = Field(default=None, max_length=200)
    colour_navigation: str | None = Field(default=None, max_length=16)
    logo_url_light: str | None = Field(default=None, max_length=2000)
    logo_url_dark: str | None = Field(default=None, max_length=2000)
    allow_public_signups: int | None = Field(default=None, ge=0, le=1)
    default_margin: Decimal | None = Field(default=None, ge=0, le=1000)
    default_margin_numbers: Decimal | None = Field(default=None, ge=0, le=1000)
    trial_balance: Decimal | None = Field(default=None, ge=0, le=10**9)


class ClientBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    # Lengths are the columns' (storage/tables.py), as for `POST /account`.
    username: str = Field(min_length=1, max_length=100)
    password: str = Field(max_length=200)
    user_email: str = Field(min_length=1, max_length=320)
    user_phone: str = Field(min_length=1, max_length=32)
    user_first_name: str = Field(max_length=100)
    user_last_name: str = Field(max_length=100)
    account_name: str = Field(max_length=200)
    country: str = Field(min_length=2, max_length=2)

    def details(self) -> clients.ClientDetails:
        return clients.ClientDetails(
            username=self.username,
            password=self.password,
            email=self.user_email,
            phone=self.user_phone,
            first_name=self.user_first_name,
            last_name=self.user_last_name,
            account_name=self.account_name,
            country=self.country,
        )


class PublicClientBody(ClientBody):
    reseller_user_id: int = Field(ge=1, le=2**31 - 1)


class ClientChanges(UpdateBody):
    username: str | None = Field(default=None, min_length=1, max_length=100)
    password: str | None = Field(default=None, max_length=200)
    user_email: str | None = Field(default=None, max_length=320)
    user_phone: str | None = Field(default=None, max_length=32)
    user_first_name: str | None = Field(default=None, max_length=100)
    user_last_name: str | None = Field(default=None, max_length=100)
    account_name: str | None = Field(default=None, max_length=200)
    country: str | None = Field(default=None, min_length=2, max_length=2)


class TransferBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    # A string in the spec, a number in SDK 5: the digits of a user id either way.
    client_user_id: int = Field(ge=1, le=2**31 - 1)
    balance: Decimal = Field(gt=0, le=10**12)
    currency: str = Field(min_length=3, max_length=3)

    @field_validator("client_user_id", mode="before")
    @classmethod
    def _digits(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.strip().isdigit():
            raise ValueError("client_user_id must be a user id")
        return value


@router.get("/reseller", summary="Get Reseller Setting")
async def get_settings(principal: CurrentPrincipal, conn: Conn) -> JSONResponse:
    found = await program.get_program(conn, principal)
    data = _settings(found, trial_as_text=True)
    data["logo_url"] = found.logo_url_light  # the GET example's older name for it
    return envelope([data], "Your result.")


@router.put("/reseller", summary="Update Reseller Setting")
async def update_settings(
    body: ProgramBody, principal: CurrentPrincipal, conn: Conn
) -> JSONResponse:
    found = await program.update_program(conn, principal, body.model_dump(exclude_none=True))
    return envelope(_settings(found, trial_as_text=False), "Your setting has been updated.")


@router.get("/reseller/accounts", summary="List of Reseller Accounts")
async def list_clients(
    request: Request,
    params: ListParams,
    principal: CurrentPrincipal,
    conn: Conn,
    runtime: RuntimeDep,
) -> JSONResponse:
    page = await clients.list_clients(conn, principal, params)
    data = render_page(page, request, lambda row: _client(*split(row), runtime))
    return envelope(data, "Here are your data.")


@router.post("/reseller/accounts", summary="Create Reseller Account")
async def create_client(
    body: ClientBody, principal: CurrentPrincipal, conn: Conn, runtime: RuntimeDep
) -> JSONResponse:
    created = await clients.create_client(conn, principal, body.details())
    data = _client(created.user, created.account, runtime, created.api_key)
    return envelope(data, "New reseller has been added.")


@router.post("/reseller/accounts-public", summary="Create Reseller Account - Public")
async def sign_up(
    body: PublicClientBody, request: Request, conn: Conn, runtime: RuntimeDep
) -> JSONResponse:
    # No credentials: limited per client address like `POST /account`, and the account
    # stays inactive until the emailed token is verified.
    settings = runtime.settings
    await limit_client(request, runtime, settings.signup_rate_limit, "reseller-signup")
    created = await clients.sign_up(
        conn,
        body.reseller_user_id,
        body.details(),
        mail=account_mail(runtime),
        base_url=settings.public_base(),
        ttl=settings.activation_token_ttl,
    )
    data = _client(created.user, created.account, runtime, created.api_key)
    return envelope(data, "New reseller has been added.")


@router.put("/reseller/transfer-credit", summary="Transfer Credit")
async def transfer_credit(
    body: TransferBody, principal: CurrentPrincipal, conn: Conn, runtime: RuntimeDep
) -> JSONResponse:
    user, account = await clients.transfer_credit(
        conn, principal, body.client_user_id, body.balance, body.currency
    )
    return envelope(
        _client(user, account, runtime), "Your balance has been successfully transferred."
    )


@router.get("/reseller/accounts/{client_user_id}", summary="Get Reseller Account")
async def get_client(
    client_user_id: ClientUserId, principal: CurrentPrincipal, conn: Conn, runtime: RuntimeDep
) -> JSONResponse:
    user, account = await clients.get_client(conn, principal, client_user_id)
    return envelope(_client(user, account, runtime), "Here are your data.")


@router.put("/reseller/accounts/{client_user_id}", summary="Update Reseller Account")
async def update_client(
    client_user_id: ClientUserId,
    body: ClientChanges,
    principal: CurrentPrincipal,
    conn: Conn,
    runtime: RuntimeDep,
) -> JSONResponse:
    user, account = await clients.update_client(
        conn, principal, client_user_id, body.model_dump(exclude_none=True)
    )
    return envelope(_client(user, account, runtime), "Reseller account has been updated.")


# Last: `/reseller/accounts` and `/reseller/transfer-credit` are not subdomains.
@router.get("/reseller/{subdomain}", summary="Reseller By Subdomain")
async def by_subdomain(subdomain: Subdomain, conn: Conn) -> JSONResponse:
    found = await program.by_subdomain(conn, subdomain)
    data = {
        "reseller_user_id": found.reseller_user_id,
        "company_name": found.company_name,
        "colour_navigation": found.colour_navigation,
        "logo_url_light": found.logo_url_light,
        "logo_url_dark": found.logo_url_dark,
        "allow_public_signups": int(found.allow_public_signups),
    }
    return envelope(data, "Here's your result.")
