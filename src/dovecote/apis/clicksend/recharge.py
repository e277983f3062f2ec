"""`/v3/recharge/*` (packages, saved card, purchase, transactions) and `/v3/pricing/{country}`.

Billing needs the main user or the `access_billing` permission, as in ClickSend.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from dovecote.accounts import service as accounts
from dovecote.apis.clicksend.envelope import envelope
from dovecote.apis.clicksend.listing import ListParams, render_page
from dovecote.apis.deps import Conn, CurrentPrincipal, DetachedPrincipal, RuntimeDep
from dovecote.billing import invoices, recharge
from dovecote.billing.payments import PROVIDERS, Card, PaymentProvider
from dovecote.billing.price_list import country_prices
from dovecote.core.errors import InvalidInput
from dovecote.core.models import Principal
from dovecote.pipeline.pricing import PriceBook, UnknownCurrency
from dovecote.runtime import Runtime

router = APIRouter(tags=["Account Recharge"])

TransactionId = Annotated[str, Path(min_length=1, max_length=36)]
BILLING = "access_billing"


def _provider(runtime: Runtime) -> PaymentProvider:
    return PROVIDERS[runtime.settings.payment_provider]()


def _currency(prices: PriceBook, code: str) -> dict[str, str]:
    try:
        return prices.currency_info(code)
    except UnknownCurrency:
        supported = ", ".join(prices.currencies)
        raise InvalidInput(f"currency must be one of {supported}.", field="currency") from None


def _country(value: str | None, principal: Principal) -> str:
    return accounts.normalize_country(value) if value else principal.account.country


class CardIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    number: str | int = Field(union_mode="left_to_right")
    expiry_month: str | int = Field(union_mode="left_to_right")
    expiry_year: str | int = Field(union_mode="left_to_right")
    cvc: str | int = Field(union_mode="left_to_right")
    name: str = Field(max_length=200)
    bank_name: str = Field(default="", max_length=200)

    def to_card(self) -> Card:
        return Card(
            number=str(self.number).strip(),
            expiry_month=_integer(self.expiry_month, "expiry_month"),
            expiry_year=_integer(self.expiry_year, "expiry_year"),
            # A CVC sent as a JSON number lost its leading zeros (SDK 6 types it int).
            cvc=str(self.cvc).strip().zfill(3) if isinstance(self.cvc, int) else self.cvc.strip(),
            name=self.name.strip(),
        )


def _integer(value: str | int, field: str) -> int:
    try:
        number = int(str(value).strip())
    except ValueError:
        raise InvalidInput(f"{field} must be a number.", field=field) from None
    if not 0 <= number <= 9999:
        raise InvalidInput(f"{field} is out of range.", field=field)
    return number


def _transaction(made: recharge.Transaction) -> dict[str, Any]:
    return {
        "invoice_number": made.id,
        "amount": float(made.amount),  # SDK 6 reads a number; the spec's example a string
        "currency": made.currency,
        "date": made.created_at,
        "package_id": made.package_id,
        "_invoice_url": f"/v3/recharge/transactions/{made.id}/invoice.pdf",
    }


@router.get("/recharge/packages", summary="List of Packages")
async def list_packages(
    principal: CurrentPrincipal,
    runtime: RuntimeDep,
    country: Annotated[str | None, Query(max_length=2)] = None,
) -> JSONResponse:
    accounts.require(principal, BILLING)
    code = principal.account.currency
    data = {
        "packages": recharge.packages(runtime.prices, code, _country(country, principal)),
        "currency": _currency(runtime.prices, code),
    }
    return envelope(data, "List of Packages.")


@router.get("/recharge/credit-card", summary="Get Credit Card info")
async def get_card(principal: CurrentPrincipal, conn: Conn) -> JSONResponse:
    accounts.require(principal, BILLING)
    saved = await recharge.card(conn, principal)
    data = {
        "display_number": saved.display_number,
        "expiry_month": saved.expiry_month,
        "expiry_year": saved.expiry_year,
        "name": saved.name,
    }
    return envelope(data, "Customer payment info.")


@router.put("/recharge/credit-card", summary="Update Credit Card info")
async def put_card(
    body: CardIn, principal: CurrentPrincipal, conn: Conn, runtime: RuntimeDep
) -> JSONResponse:
    accounts.require(principal, BILLING)
    saved = await recharge.save_card(
        conn, _provider(runtime), principal, body.to_card(), bank_name=body.bank_name
    )
    return envelope({"token": saved.token}, "Your payment info has been updated.")


@router.put("/recharge/purchase/{package_id}", summary="Purchase a Package")
async def purchase(
    package_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    # Detached: the purchase waits on the payment provider and runs its own transaction,
    # so it must hold no connection meanwhile (SQLite has one).
    principal: DetachedPrincipal,
    runtime: RuntimeDep,
) -> JSONResponse:
    accounts.require(principal, BILLING)
    accounts.require_active(principal)
    made = await recharge.purchase(runtime.engine, _provider(runtime), principal, package_id)
    data = {
        "user_id": made.user_id,
        "amount": int(made.amount),  # packages are whole units; SDK 6 reads an integer
        "currency": made.currency,
        "date": made.created_at,
        "invoice_number": made.id,
    }
    return envelope(data, f"Successfully purchased a package #{package_id}")


@router.get("/recharge/transactions", summary="Get Transactions")
async def list_transactions(
    request: Request, params: ListParams, principal: CurrentPrincipal, conn: Conn
) -> JSONResponse:
    accounts.require(principal, BILLING)
    page = await recharge.transactions(conn, principal, params)
    data = render_page(page, request, lambda row: _transaction(recharge.transaction_from_row(row)))
    return envelope(data, "Here are your transactions.")


@router.get("/recharge/transactions/{transaction_id}", summary="Get a specific transaction")
async def get_transaction(
    transaction_id: TransactionId, principal: CurrentPrincipal, conn: Conn
) -> JSONResponse:
    accounts.require(principal, BILLING)
    made = await recharge.transaction(conn, principal, transaction_id)
    return envelope(_transaction(made), "Here is your transaction.")


@router.get(
    "/recharge/transactions/{transaction_id}/invoice.pdf",
    summary="Transaction invoice (PDF, Dovecote)",
    response_class=Response,
)
async def get_invoice(
    transaction_id: TransactionId, principal: CurrentPrincipal, conn: Conn
) -> Response:
    accounts.require(principal, BILLING)
    made = await recharge.transaction(conn, principal, transaction_id)
    pdf = invoices.render(
        made,
        account_name=principal.account.name,
        billing_email=principal.account.billing_email,
    )
    headers = {"Content-Disposition": f'inline; filename="invoice-{made.id}.pdf"'}
    return Response(pdf, media_type="application/pdf", headers=headers)


@router.get("/pricing/{country}", summary="Get Country Pricing", tags=["Pricing"])
async def pricing(
    country: Annotated[str, Path(max_length=8)],
    principal: CurrentPrincipal,
    runtime: RuntimeDep,
    currency: Annotated[str | None, Query(max_length=8)] = None,
) -> JSONResponse:
    code = (currency or principal.account.currency).upper()
    info = _currency(runtime.prices, code)
    data = {"_currency": info, **country_prices(runtime.prices, _country(country, principal), code)}
    return envelope(data, "Price Lists.")
