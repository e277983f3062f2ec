"""SendGrid v3 Mail Send: `POST /v3/mail/send`.

202 with an empty body and `X-Message-Id` when queued; 200 with an empty body in sandbox
mode (`mail_settings.sandbox_mode.enable`); errors as `{"errors": [{"field", "message"}]}`
(apis/errors.py picks the format by path). Type errors in the body are reported the way
SendGrid reports them, with the dotted field (`personalizations.0.to.0.email`) and
`Invalid type. Expected: string, given: integer.`, instead of FastAPI's generic 400.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field, StrictBool

from dovecote.apis.deps import Conn, CurrentPrincipal, RuntimeDep, client_ip
from dovecote.apis.sendgrid import mail_request as domain
from dovecote.channels.email import compose as email_channel
from dovecote.core.errors import InvalidInput
from dovecote.pipeline.pricing import PriceBook

# --- SendGrid-shaped validation errors --------------------------------------------------

_EXPECTED = {
    "string_type": "string",
    "int_type": "integer",
    "int_parsing": "integer",
    "int_from_float": "integer",
    "bool_type": "boolean",
    "list_type": "array",
    "dict_type": "object",
    "model_type": "object",
    "model_attributes_type": "object",
}


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def sendgrid_problem(errors: Sequence[Any]) -> InvalidInput:
    """The first validation problem as SendGrid names it (one error, like every Dovecote
    error; SendGrid lists them all)."""
    err = errors[0] if errors else {}
    location = [str(part) for part in err.get("loc", ()) if part != "body"]
    field = ".".join(location) or None
    kind = err.get("type", "")
    if kind == "json_invalid":
        return InvalidInput("The request body is not valid JSON.")
    if kind == "missing" and field is None:
        return InvalidInput("The request body is required.")
    if kind in _EXPECTED:
        given = _json_type(err.get("input"))
        message = f"Invalid type. Expected: {_EXPECTED[kind]}, given: {given}."
        return InvalidInput(message, field=field)
    return InvalidInput(str(err.get("msg", "Invalid value.")), field=field)


class SendGridRoute(APIRoute):
    """Turns the body's validation errors into SendGrid's 400 (a DomainError, which the
    app's handler renders in SendGrid's format for this path)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as exc:
                raise sendgrid_problem(exc.errors()) from None

        return route


router = APIRouter(tags=["SendGrid Mail Send"], route_class=SendGridRoute)


# --- the wire shapes -------------------------------------------------------------------------


class _In(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class AddressIn(_In):
    email: str | None = None
    name: str | None = None

    def to_domain(self) -> email_channel.AddressIn:
        return email_channel.AddressIn(self.email, self.name)


def _addresses(items: list[AddressIn] | None) -> list[email_channel.AddressIn]:
    return [item.to_domain() for item in items or ()]


class PersonalizationIn(_In):
    to: list[AddressIn] | None = None
    cc: list[AddressIn] | None = None
    bcc: list[AddressIn] | None = None
    sender: AddressIn | None = Field(default=None, alias="from")
    subject: str | None = None
    headers: dict[str, str] | None = None
    substitutions: dict[str, str] | None = None
    dynamic_template_data: dict[str, Any] | None = None
    custom_args: dict[str, str] | None = None
    send_at: int | None = None

    def to_domain(self) -> domain.PersonalizationIn:
        return domain.PersonalizationIn(
            to=_addresses(self.to),
            cc=_addresses(self.cc),
            bcc=_addresses(self.bcc),
            sender=self.sender.to_domain() if self.sender else None,
            subject=self.subject,
            headers=self.headers or {},
            substitutions=self.substitutions or {},
            dynamic_template_data=self.dynamic_template_data or {},
            custom_args=self.custom_args or {},
            send_at=self.send_at,
        )


class ContentIn(_In):
    type: str | None = None
    value: str | None = None


class AttachmentIn(_In):
    content: str | None = None
    filename: str | None = None
    type: str | None = None
    disposition: str | None = None
    content_id: str | None = None


class AsmIn(_In):
    group_id: int | None = None
    groups_to_display: list[int] | None = None


class SwitchIn(_In):
    enable: StrictBool | None = None


class TrackingSettingsIn(_In):
    open_tracking: SwitchIn | None = None
    click_tracking: SwitchIn | None = None


class MailSettingsIn(_In):
    sandbox_mode: SwitchIn | None = None


class MailIn(_In):
    """SendGrid's mail/send body. Accepted and ignored: `batch_id`, `ip_pool_name`,
    `sections`, `mail_settings` other than sandbox mode, `tracking_settings` other than
    open and click tracking."""

    personalizations: list[PersonalizationIn] | None = None
    sender: AddressIn | None = Field(default=None, alias="from")
    reply_to: AddressIn | None = None
    reply_to_list: list[AddressIn] | None = None
    subject: str | None = None
    content: list[ContentIn] | None = None
    attachments: list[AttachmentIn] | None = None
    template_id: str | None = None
    headers: dict[str, str] | None = None
    categories: list[str] | None = None
    custom_args: dict[str, str] | None = None
    send_at: int | None = None
    asm: AsmIn | None = None
    mail_settings: MailSettingsIn | None = None
    tracking_settings: TrackingSettingsIn | None = None

    def to_domain(self) -> domain.MailRequest:
        tracking = self.tracking_settings or TrackingSettingsIn()
        sandbox = (self.mail_settings or MailSettingsIn()).sandbox_mode
        return domain.MailRequest(
            personalizations=[p.to_domain() for p in self.personalizations or ()],
            sender=self.sender.to_domain() if self.sender else None,
            subject=self.subject,
            content=[domain.ContentIn(c.type, c.value) for c in self.content or ()],
            attachments=[
                email_channel.AttachmentIn(
                    a.content, a.filename, a.type, a.disposition, a.content_id
                )
                for a in self.attachments or ()
            ],
            reply_to=self.reply_to.to_domain() if self.reply_to else None,
            reply_to_list=_addresses(self.reply_to_list),
            categories=list(self.categories or ()),
            custom_args=self.custom_args or {},
            headers=self.headers or {},
            send_at=self.send_at,
            template_id=self.template_id,
            asm_group_id=self.asm.group_id if self.asm else None,
            asm_groups_to_display=list(self.asm.groups_to_display or ()) if self.asm else [],
            open_tracking=tracking.open_tracking.enable if tracking.open_tracking else None,
            click_tracking=tracking.click_tracking.enable if tracking.click_tracking else None,
            sandbox_mode=bool(sandbox and sandbox.enable),
        )


# --- the route -----------------------------------------------------------------------------


@router.post(
    "/mail/send",
    summary="Send email",
    status_code=202,
    response_class=Response,
    responses={
        202: {
            "description": "Queued. The body is empty.",
            "headers": {
                "X-Message-Id": {
                    "description": "The Email Activity msg_id of the first recipient's message.",
                    "schema": {"type": "string"},
                }
            },
        },
        200: {"description": "Sandbox mode: valid, nothing sent."},
    },
)
async def send_mail(
    body: MailIn,
    request: Request,
    principal: CurrentPrincipal,
    conn: Conn,
    runtime: RuntimeDep,
) -> Response:
    prices: PriceBook = runtime.prices
    sent = await domain.send(
        conn,
        principal,
        body.to_domain(),
        settings=runtime.settings,
        events=runtime.events,
        prices=prices,
        originating_ip=client_ip(request),
    )
    if sent.queued is not None:
        runtime.metrics.accepted.labels("email").inc(len(sent.queued.message_ids))
    if sent.message_id is None:
        return Response(status_code=200)
    return Response(status_code=202, headers={"X-Message-Id": sent.message_id})
