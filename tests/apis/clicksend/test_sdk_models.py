"""Every ClickSend operation Dovecote implements, through the official SDKs that have it.

SDK 6.0.2 (`clicksend`) deserializes each answer into strict pydantic models and raises
when a field has the wrong type, so a call that returns is an answer the SDK can read;
the tests then check that the fields a client relies on are there, with their types.
SDK 5.0.91 (`clicksend_client`) returns its answers as text: they are read back and
checked the same way. Both runs end by checking they called every implemented operation
their SDK has (docs/compatibility.md's sources), so a new route needs a line here.
"""

from __future__ import annotations

import ast
import asyncio
import base64
import importlib
import importlib.util
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import clicksend
import httpx
import pytest

from dispatch_support import deliver
from dovecote.settings import Settings
from dovecote.storage.db import create_engine
from email_support import add_address, owner_principal
from fax_support import pdf
from fetch_support import file_server
from media_support import image
from numbers_support import load_into
from post_support import addressed_letter, pdf_of
from reseller_support import make_reseller

ROOT = Path(__file__).resolve().parents[3]
SDK5_PATH = ROOT / ".venv" / "sdk5"
SENDER = "news@shop.example"


def _compat_table() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "compat_table", ROOT / "scripts" / "compat_table.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def implemented_by(sdk: str) -> set[tuple[str, str]]:
    """(method, path with parameter names erased) of each implemented operation `sdk`
    calls, by docs/compatibility.md's rules."""
    compat = _compat_table()
    routed = {(method, compat.normalise(path)) for method, path in compat.app_routes()}
    union = compat.read_union(compat.DEFAULT_REFERENCE)
    return {op.key for op in union if sdk in op.sources.split(",") and op.key in routed}


def normalised(method: str, path: str) -> tuple[str, str]:
    compat = sys.modules.get("compat_table") or _compat_table()
    full = path if path.startswith("/v3") else "/v3" + path
    # SDK 6 asks for `/lists/{id}/remove-duplicates/`; the app routes that spelling to the
    # same operation, which the reference names without the slash.
    return (method.upper(), compat.normalise(full).rstrip("/"))


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    # The voice and fax sandboxes keep their renders in the file store: the test's own.
    # Sign-up is closed by default; SDK 5 calls it.
    return settings.model_copy(update={"files_dir": str(tmp_path / "files"), "signup": "open"})


def schedule_calls(url: str, settings: Settings, *numbers: str) -> list[str]:
    """Voice calls an hour ahead (SDK 6's send model has no `schedule`), to cancel."""
    later = int(time.time()) + 3600
    calls = [
        {"to": n, "body": "Later", "voice": "male", "lang": "en-us", "schedule": later}
        for n in numbers
    ]
    with httpx.Client(
        base_url=url, auth=(str(settings.owner_username), str(settings.owner_api_key))
    ) as http:
        sent = http.post("/v3/voice/send", json={"messages": calls})
    assert sent.status_code == 200, sent.text
    return [m["message_id"] for m in sent.json()["data"]["messages"]]


@dataclass
class World:
    """What the calls need to find: a verified sender, a sent SMS with its receipt and a
    reply, a scheduled SMS to cancel, a sent email."""

    address_id: int
    delivered_sms: str
    scheduled_sms: list[str]
    reply_id: str


def prepare(url: str, settings: Settings) -> World:
    async def sender() -> int:
        engine = create_engine(settings.database_url)
        try:
            me = await owner_principal(engine)
            return await add_address(engine, me.account.id, me.user.id, SENDER)
        finally:
            await engine.dispose()

    async def dispatch() -> None:
        engine = create_engine(settings.database_url)
        try:
            for _ in range(2):  # send, then settle: the sandbox's receipt
                await deliver(engine, settings)
        finally:
            await engine.dispose()

    address_id = asyncio.run(sender())
    later = int(time.time()) + 3600
    with httpx.Client(
        base_url=url, auth=(str(settings.owner_username), str(settings.owner_api_key))
    ) as http:
        sent = http.post(
            "/v3/sms/send",
            json={
                "messages": [
                    {"to": "+12025550100", "body": "Now"},
                    {"to": "+12025550101", "body": "Later", "schedule": later},
                    {"to": "+12025550102", "body": "Later too", "schedule": later},
                ]
            },
        )
        assert sent.status_code == 200, sent.text
        ids = [m["message_id"] for m in sent.json()["data"]["messages"]]
        asyncio.run(dispatch())
        reply = http.post(
            "/sandbox/sms/inbound", json={"from": "+12025550100", "to": "Dovecote", "body": "Hi"}
        )
        assert reply.status_code == 200, reply.text
    return World(address_id, ids[0], ids[1:], reply.json()["data"]["message_id"])


def resell(settings: Settings) -> None:
    """Make the owner a reseller, as the operator does (`accounts set owner reseller=true`)."""

    async def run() -> None:
        engine = create_engine(settings.database_url)
        try:
            await make_reseller(engine, str(settings.owner_username), settings)
        finally:
            await engine.dispose()

    asyncio.run(run())


def client_fields(username: str) -> dict[str, str]:
    """A reseller client's fields, as both SDKs' models name them."""
    return {
        "username": username,
        "password": f"{username}-password",
        "user_email": f"{username}@client.example",
        "user_phone": "+61411111111",
        "user_first_name": "Client",
        "user_last_name": username.title(),
        "account_name": f"{username} Pty Ltd",
        "country": "AU",
    }


def value(obj: Any, path: str) -> Any:
    """`a.b.0.c`: attributes of SDK 6 models or keys of SDK 5 answers; numbers index lists."""
    for part in path.split("."):
        if part.isdigit():
            obj = obj[int(part)]
        else:
            obj = obj[part] if isinstance(obj, dict) else getattr(obj, part)
    return obj


def expect(answer: Any, **fields: type | tuple[type, ...]) -> None:
    """Each field is there, with its type: `data__0__code=str` is `data[0].code`."""
    for name, kind in fields.items():
        path = name.replace("__", ".")
        found = value(answer, path)
        assert isinstance(found, kind), f"{path} is {found!r}, not {kind}"


# --- SDK 6.0.2 ------------------------------------------------------------------------------


class Recorder:
    """The (method, resource path) of every request an SDK client builds."""

    def __init__(self) -> None:
        self.called: set[tuple[str, str]] = set()

    def sdk6(self, client: clicksend.ApiClient) -> clicksend.ApiClient:
        serialize = client.param_serialize

        def recording(method: str, resource_path: str, *args: Any, **kwargs: Any) -> Any:
            self.called.add(normalised(method, resource_path))
            return serialize(method, resource_path, *args, **kwargs)

        client.param_serialize = recording  # type: ignore[method-assign]
        return client

    def sdk5(self, client: Any) -> Any:
        call_api = client.call_api

        def recording(resource_path: str, method: str, *args: Any, **kwargs: Any) -> Any:
            self.called.add(normalised(method, resource_path))
            return call_api(resource_path, method, *args, **kwargs)

        client.call_api = recording
        return client


def test_sdk6_reads_every_implemented_operation_into_its_models(
    live_server: Any, settings: Settings
) -> None:
    world = prepare(live_server.url, settings)
    recorder = Recorder()
    config = clicksend.Configuration(
        host=live_server.url, username=settings.owner_username, password=settings.owner_api_key
    )
    client = recorder.sdk6(clicksend.ApiClient(config))
    management = clicksend.ManagementApi(client)
    email = clicksend.EmailApi(client)
    sms = clicksend.SmsApi(client)
    subaccounts = clicksend.SubaccountsApi(client)
    countries = clicksend.InternationalMessagingApi(client)

    def check(model: type, answer: Any, **fields: type | tuple[type, ...]) -> None:
        assert isinstance(answer, model), type(answer)
        assert (value(answer, "http_code"), value(answer, "response_code")) == (200, "SUCCESS")
        expect(answer, **fields)

    # Account, usage and reference data.
    account = management.view_account_details()
    check(
        clicksend.ViewAccountDetails,
        account,
        data__user_id=int,
        data__username=str,
        data__balance=str,
        data__active=int,
        data__date_sign_up=int,
        data__fax_quality=int,
        data__timezone=str,
        data__currency__currency_name_short=str,
        data__subaccount__subaccount_id=int,
        data__subaccount__is_main=int,
    )
    now = time.gmtime()
    usage = management.view_account_usage(year=str(now.tm_year), month=str(now.tm_mon))
    check(clicksend.ViewAccountUsage, usage)
    check(clicksend.Timezones, countries.timezones(), data=list)
    listed_countries = countries.view_countries()
    check(clicksend.ViewCountries, listed_countries, data__0__code=str, data__0__value=str)

    # Allowed email addresses: list, one, add one, mail its token, verify (a wrong token
    # is a 400, which the SDK raises), delete.
    check(
        clicksend.ViewAllowedEmailAddresses,
        email.view_allowed_email_addresses(),
        data__data__0__email_address_id=int,
        data__data__0__email_address=str,
        data__data__0__verified=int,
    )
    check(
        clicksend.ViewAllowedEmailAddress,
        email.view_allowed_email_address(email_address_id=str(world.address_id)),
        data__email_address_id=int,
        data__date_added=str,
    )
    added = email.create_allowed_email_address(
        create_allowed_email_address_request=clicksend.CreateAllowedEmailAddressRequest(
            email_address="other@shop.example"
        )
    )
    check(clicksend.CreateAllowedEmailAddress, added, data__email_address_id=int)
    other = str(value(added, "data.email_address_id"))
    check(
        clicksend.SendEmailVerificationToken,
        email.send_email_verification_token(email_address_id=other),
    )
    with pytest.raises(clicksend.exceptions.BadRequestException):
        email.verify_allowed_email_address(email_address_id=other, activation_token="WRONG")

    # Master templates and their categories.
    masters = email.view_master_email_templates()
    check(
        clicksend.ViewMasterEmailTemplates,
        masters,
        data__0__template_id_master=int,
        data__0__template_name=str,
    )
    master_id = value(masters, "data.0.template_id_master")
    check(
        clicksend.ViewMasterEmailTemplate,
        email.view_master_email_template(template_id=str(master_id)),
        data__template_id_master=int,
        data__body=str,
    )
    categories = email.view_template_categories()
    check(
        clicksend.ViewTemplateCategories,
        categories,
        data__0__category_id=(int, float),
        data__0__category_name=str,
    )
    category = str(int(value(categories, "data.0.category_id")))
    check(
        clicksend.ViewTemplateCategory,
        email.view_template_category(category_id=category),
        data__category_id=(int, float),
        data__name=str,
    )
    check(
        clicksend.ViewTemplatesInCategory,
        email.view_templates_in_category(category_id=category),
        data__0__template_id_master=int,
    )

    # The account's email templates.
    created = email.create_email_template(
        create_email_template_request=clicksend.CreateEmailTemplateRequest(
            template_name="Welcome", template_id_master=master_id
        )
    )
    check(clicksend.CreateEmailTemplate, created, data__template_id=int, data__body=str)
    template_id = str(value(created, "data.template_id"))
    check(
        clicksend.ViewEmailTemplates,
        email.view_email_templates(),
        data__data__0__template_id=int,
        data__data__0__template_name=str,
    )
    check(
        clicksend.ViewEmailTemplate,
        email.view_email_template(template_id=template_id),
        data__template_id=int,
    )
    check(
        clicksend.UpdateEmailTemplate,
        email.update_email_template(
            template_id=template_id,
            update_email_template_request=clicksend.UpdateEmailTemplateRequest(body="<p>Hi</p>"),
        ),
        data__template_id=int,
    )

    # Transactional email: price, send, history, export.
    mail = {
        "to": [clicksend.SendEmailRequestToInner(email="ann@example.net", name="Ann")],
        "var_from": clicksend.SendEmailRequestFrom(email_address_id=str(world.address_id)),
        "subject": "Hello",
        "body": "<p>Hello</p>",
    }
    check(
        clicksend.CalculateEmailPrice,
        email.calculate_email_price(
            calculate_email_price_request=clicksend.CalculateEmailPriceRequest(**mail)
        ),
    )
    sent = email.send_email(send_email_request=clicksend.SendEmailRequest(**mail))
    check(
        clicksend.SendEmail,
        sent,
        data__message_id=str,
        data__to__0__email=str,
        data__status=str,
        data__date_added=int,
    )
    check(clicksend.ViewEmailHistory, email.view_email_history(), data__total=int)
    check(clicksend.ExportEmailHistory, email.export_email_history(), data__url=str)

    # SMS: price, send, history and its export, cancel.
    message = clicksend.SendSmsRequestMessagesInner(body="Hello", to="+12025550103")
    priced = sms.calculate_sms_price(
        calculate_sms_price_request=clicksend.CalculateSmsPriceRequest(
            messages=[
                clicksend.CalculateSmsPriceRequestMessagesInner(body="Hello", to="+12025550103")
            ]
        )
    )
    check(
        clicksend.CalculateSmsPrice,
        priced,
        data__total_price=(int, float),
        data__messages__0__message_price=str,
        data__messages__0__status=str,
    )
    check(
        clicksend.SendSms,
        sms.send_sms(send_sms_request=clicksend.SendSmsRequest(messages=[message])),
        data__total_price=(int, float),
        data__queued_count=int,
        data__messages__0__message_id=str,
        data__messages__0__var_date=int,
        data__messages__0__message_parts=int,
    )
    check(
        clicksend.ViewSmsHistory,
        sms.view_sms_history(),
        data__total=int,
        data__data__0__message_id=str,
        data__data__0__message_price=str,
    )
    check(clicksend.ExportSmsHistory, sms.export_sms_history(filename="sms.csv"), data__url=str)
    check(clicksend.CancelSms, sms.cancel_sms(message_id=world.scheduled_sms[0]))
    check(
        clicksend.CancelAllSms,
        sms.cancel_all_sms(cancel_all_sms_request=clicksend.CancelAllSmsRequest()),
        data__count=int,
    )

    # Delivery receipts.
    check(
        clicksend.ViewSpecificSmsReceipt,
        sms.view_specific_sms_receipt(message_id=world.delivered_sms),
        data__message_id=str,
        data__status_code=int,
        data__timestamp=int,
    )
    check(
        clicksend.ViewSmsReceipts,
        sms.view_sms_receipts(),
        data__total=int,
        data__data__0__message_id=str,
    )
    check(
        clicksend.CreateTestSmsReceipt,
        sms.create_test_sms_receipt(
            create_test_sms_receipt_request=clicksend.CreateTestSmsReceiptRequest(url="poll")
        ),
        data__message_id=str,
    )
    check(
        clicksend.MarkSmsReceiptAsRead,
        sms.mark_sms_receipt_as_read(
            mark_sms_receipt_as_read_request=clicksend.MarkSmsReceiptAsReadRequest(date_before=1)
        ),
    )

    # Inbound SMS.
    check(
        clicksend.ViewInboundSms,
        sms.view_inbound_sms(),
        data__total=int,
        data__data__0__message_id=str,
        data__data__0__timestamp=int,
    )
    check(
        clicksend.ViewASpecificInboundSmsMessage,
        sms.view_a_specific_inbound_sms_message(original_message_id=world.delivered_sms),
        data__message_id=str,
        data__original_message_id=str,
    )
    check(
        clicksend.CreateTestInboundSms,
        sms.create_test_inbound_sms(
            create_test_inbound_sms_request=clicksend.CreateTestInboundSmsRequest(url="poll")
        ),
        data__message_id=str,
        data__timestamp_send=int,
    )
    check(
        clicksend.MarkSpecificInboundSmsMessageAsRead,
        sms.mark_specific_inbound_sms_message_as_read(message_id=world.reply_id),
    )
    check(
        clicksend.MarkInboundSmsAsRead,
        sms.mark_inbound_sms_as_read(
            mark_sms_receipt_as_read_request=clicksend.MarkSmsReceiptAsReadRequest(date_before=1)
        ),
    )

    # SMS templates.
    template = sms.create_sms_template(
        create_sms_template_request=clicksend.CreateSmsTemplateRequest(
            template_name="Reminder", body="See you"
        )
    )
    check(clicksend.CreateSmsTemplate, template, data__template_id=int, data__body=str)
    sms_template_id = str(value(template, "data.template_id"))
    check(
        clicksend.ViewSmsTemplates,
        sms.view_sms_templates(),
        data__total=int,
        data__data__0__template_id=int,
    )
    check(
        clicksend.ViewASpecificSmsTemplate,
        sms.view_a_specific_sms_template(template_id=sms_template_id),
        data__template_name=str,
    )
    check(
        clicksend.UpdateSmsTemplate,
        sms.update_sms_template(
            template_id=sms_template_id,
            create_sms_template_request=clicksend.CreateSmsTemplateRequest(
                template_name="Reminder", body="See you soon"
            ),
        ),
        data__body=str,
    )

    # Subaccounts: create, list, read, update, new key, delete.
    new = subaccounts.create_subaccount(
        create_subaccount_request=clicksend.CreateSubaccountRequest(
            api_username="sdk6-models",
            password="a-long-password",
            email="sdk6@example.com",
            phone_number="+61411111111",
            first_name="Six",
            last_name="Models",
        )
    )
    check(clicksend.CreateSubaccount, new, data__subaccount_id=int, data__api_key=str)
    sub_id = str(value(new, "data.subaccount_id"))
    check(
        clicksend.ViewSubaccounts,
        subaccounts.view_subaccounts(),
        data__total=int,
        data__data__0__api_username=str,
    )
    check(
        clicksend.ViewSpecificSubaccount,
        subaccounts.view_specific_subaccount(subaccount_id=sub_id),
        data__access_sms=int,
        data__is_main=int,
    )
    check(
        clicksend.UpdateSubaccount,
        subaccounts.update_subaccount(
            subaccount_id=sub_id,
            update_subaccount_request=clicksend.UpdateSubaccountRequest(email="six@example.com"),
        ),
        data__email=str,
    )
    check(
        clicksend.GenerateNewApiKey,
        subaccounts.generate_new_api_key(subaccount_id=sub_id),
        data__api_key=str,
    )

    # Numbers: the inventory is loaded as `dovecote numbers import` does.
    asyncio.run(load_into(settings.database_url))
    numbers = clicksend.NumbersApi(client)
    check(
        clicksend.ViewAvailableNumbers,
        numbers.view_available_numbers("US"),
        data__data__0__dedicated_number=str,
        data__data__0__price_monthly=str,
    )
    check(
        clicksend.PurchaseDedicatedNumber,
        numbers.purchase_dedicated_number(
            "+12025550101",
            clicksend.BuyNumberRequest(dedicated_number="+12025550101", type="sms"),
        ),
        data__dedicated_number=str,
        data__price_total=str,
    )
    check(
        clicksend.ViewYourNumbers,
        numbers.view_your_numbers(),
        data__data__0__dedicated_number=str,
        data__data__0__status__value=int,
    )
    check(
        clicksend.RegisterNumbers,
        numbers.register_numbers(
            "longcode",
            "US",
            register_numbers_request=clicksend.RegisterNumbersRequest(
                full_name="Six",
                company_name="Dovecote",
                email="six@example.com",
                website_url="https://example.com",
                sample_message="Hello",
                primary_use_case="alerts",
                company_number="1",
                area_code="202",
            ),
        ),
        data=dict,
    )

    # Sender ids (SDK 6 reads own numbers and alpha tags without the envelope).
    def bare(model: type, answer: Any, **fields: type | tuple[type, ...]) -> None:
        assert isinstance(answer, model), type(answer)
        expect(answer, **fields)

    own = clicksend.OwnNumbersApi(client)
    started = own.request_own_number_verification_otp(
        request_own_number_verification_otp_request=clicksend.RequestOwnNumberVerificationOtpRequest(
            phone_number="+12025550143", label="Mobile"
        )
    )
    bare(clicksend.RequestOwnNumberVerificationOtp, started, id=str, remaining_attempts=int)
    with pytest.raises(clicksend.exceptions.BadRequestException):
        own.verify_own_number_otp(
            str(started.id),
            verify_own_number_otp_request=clicksend.VerifyOwnNumberOtpRequest(code="wrong"),
        )
    listed_own = own.list_own_numbers()
    bare(clicksend.ListOwnNumbers, listed_own, own_numbers__0__phone_number=str)
    assert listed_own.own_numbers is not None
    own_id = str(listed_own.own_numbers[0].id)
    bare(clicksend.OwnNumber, own.get_own_number_detail(own_id), status=str)
    with pytest.raises(clicksend.exceptions.UnauthorizedException):
        own.update_own_number(own_id)  # SDK 6 sends this one without credentials
    tags = clicksend.AlphaTagsApi(client)
    tag = tags.request_alpha_tag(
        request_alpha_tag_request=clicksend.RequestAlphaTagRequest(
            alpha_tag="Dovecote", countries=["AU"]
        )
    )
    bare(clicksend.AlphaTag, tag, id=str, status=str)
    bare(clicksend.ListAlphaTags, tags.list_alpha_tags(), alpha_tags__0__alpha_tag=str)
    bare(clicksend.AlphaTag, tags.get_alpha_tag(str(tag.id)), alpha_tag=str)
    senders = clicksend.DefaultSendersApi(client)
    strategy = clicksend.CreateDefaultSenderRequestDefaultSenderStrategiesInner(
        sender_type="alpha_tag", sender_id="Dovecote"
    )
    default = senders.create_default_sender(
        create_default_sender_request=clicksend.CreateDefaultSenderRequest(
            country_code="AU", product_type="SMS", default_sender_strategies=[strategy]
        )
    )
    check(clicksend.CreateDefaultSender, default, data__id=str, data__user_id=int)
    default_id = default.data.id
    check(
        clicksend.GetDefaultSendersList,
        senders.get_default_senders_list(),
        data__data__0__country_code=str,
    )
    check(
        clicksend.GetDefaultSenderDetails,
        senders.get_default_sender_details(default_id),
        data__default_sender_strategies__0__priority=int,
    )
    check(
        clicksend.UpdateDefaultSender,
        senders.update_default_sender(
            default_id,
            update_default_sender_request=clicksend.UpdateDefaultSenderRequest(
                default_sender_strategies=[strategy]
            ),
        ),
        data__status=str,
    )
    check(
        clicksend.ListCompliantSenderTypes200Response,
        senders.list_compliant_sender_types("SMS", filter_country_code_index=["US"]),
        data__data__0__blocked_sender_types=list,
    )
    senders.delete_default_sender(default_id)
    tags.delete_alpha_tag(str(tag.id))
    bare(clicksend.OwnNumber, own.delete_own_number(own_id), phone_number=str)

    # Email-to-SMS.
    email_sms = clicksend.EmailToSmsApi(client)
    check(
        clicksend.AddAllowedEmail,
        email_sms.add_allowed_email(
            add_allowed_email_request=clicksend.AddAllowedEmailRequest.from_dict(
                {"email_address": "ops@example.com", "from": "Dovecote"}
            )
        ),
        data__email_address_id=int,
    )
    check(
        clicksend.ViewAllowedEmails,
        email_sms.view_allowed_emails(),
        data__data__0__email_address=str,
    )
    strip = clicksend.CreateStrippedStringRuleRequest(strip_string="[robot]")
    rule = email_sms.create_stripped_string_rule(create_stripped_string_rule_request=strip)
    check(clicksend.CreateStrippedStringRule, rule, data__rule_id=int)
    assert rule.data is not None
    rule_id = str(rule.data.rule_id)
    check(
        clicksend.ViewStrippedStringRules,
        email_sms.view_stripped_string_rules(),
        data__data__0__strip_string=str,
    )
    check(
        clicksend.ViewStrippedStringRule,
        email_sms.view_stripped_string_rule(rule_id),
        data__stripped_string=str,
    )
    check(
        clicksend.UpdateStrippedStringRule,
        email_sms.update_stripped_string_rule(rule_id, create_stripped_string_rule_request=strip),
        data__rule_id=int,
    )
    check(
        clicksend.DeleteStrippedStringRule,
        email_sms.delete_stripped_string_rule(rule_id),
        data=bool,
    )

    # Automations: inbound SMS rules, then SMS, email and voice receipt rules (create,
    # read, update, list, delete each); delivery issues.
    hook = "https://hooks.example.com/in"
    inbound = sms.create_sms_inbound_automation(
        create_sms_inbound_automation_request=clicksend.CreateSmsInboundAutomationRequest(
            dedicated_number="*",
            rule_name="Yes",
            message_search_type=2,
            message_search_term="YES",
            action="URL",
            action_address=hook,
            enabled=1,
        )
    )
    check(
        clicksend.CreateSmsInboundAutomation,
        inbound,
        data__inbound_rule_id=int,
        data__message_search_type=int,
        data__action=str,
        data__enabled=int,
    )
    inbound_id = str(value(inbound, "data.inbound_rule_id"))
    check(
        clicksend.ViewSmsInboundAutomation,
        sms.view_sms_inbound_automation(inbound_id),
        data__rule_name=str,
        data__message_search_term=str,
    )
    check(
        clicksend.UpdateSmsInboundAutomation,
        sms.update_sms_inbound_automation(
            inbound_id,
            update_sms_inbound_automation_request=clicksend.UpdateSmsInboundAutomationRequest(
                enabled=0
            ),
        ),
        data__enabled=int,
    )
    check(
        clicksend.ViewSmsInboundAutomations,
        sms.view_sms_inbound_automations(),
        data__total=int,
        data__data__0__inbound_rule_id=int,
    )
    check(
        clicksend.DeleteSmsInboundAutomation,
        sms.delete_sms_inbound_automation(inbound_id),
        data=list,
    )
    receipt_rule = clicksend.CreateSmsDeliveryReceiptRuleRequest(
        rule_name="Receipts", match_type=1, action="URL", action_address=hook, enabled=1
    )
    voice = clicksend.VoiceApi(client)
    model: Callable[[str], type] = lambda name: getattr(clicksend, name)  # noqa: E731
    for kind, api_of_kind, deleted in (
        ("Sms", sms, list),
        ("Email", email, bool),
        ("Voice", voice, list),
    ):
        lower = kind.lower()
        made = getattr(api_of_kind, f"create_{lower}_delivery_receipt_rule")(
            create_sms_delivery_receipt_rule_request=receipt_rule
        )
        check(
            model(f"Create{kind}DeliveryReceiptRule"),
            made,
            data__receipt_rule_id=int,
            data__match_type=int,
            data__action=str,
        )
        made_id = str(value(made, "data.receipt_rule_id"))
        check(
            model(f"View{kind}DeliveryReceiptRule"),
            getattr(api_of_kind, f"view_{lower}_delivery_receipt_rule")(made_id),
            data__rule_name=str,
            data__action_address=str,
        )
        check(
            model(f"Update{kind}DeliveryReceiptRule"),
            getattr(api_of_kind, f"update_{lower}_delivery_receipt_rule")(
                made_id, create_sms_delivery_receipt_rule_request=receipt_rule
            ),
            data__enabled=int,
        )
        # SDK 6's email list model has no `data` field: only the page counts deserialize.
        check(
            model(f"View{kind}DeliveryReceiptRules"),
            getattr(api_of_kind, f"view_{lower}_delivery_receipt_rules")(),
            data__total=int,
        )
        check(
            model(f"Delete{kind}DeliveryReceiptRule"),
            getattr(api_of_kind, f"delete_{lower}_delivery_receipt_rule")(made_id),
            data=deleted,
        )
    issues = clicksend.MessageDeliveryApi(client)
    check(
        clicksend.CreateDeliveryIssue,
        issues.create_delivery_issue(
            create_delivery_issue_request=clicksend.CreateDeliveryIssueRequest(
                message_id=world.delivered_sms,
                type="SMS",
                description="Never arrived.",
                email_address="six@example.com",
            )
        ),
        data__issue_id=int,
        data__type=str,
    )
    check(
        clicksend.GetAllDeliveryIssues,
        issues.get_all_delivery_issues(),
        data__total=int,
        data__data__0__issue_id=str,
        data__data__0__resolved=int,
    )

    # MMS: price, send (the media is fetched from a local server), history, export.
    mms = clicksend.MmsApi(client)
    with file_server() as served:
        media = served.serve("/a.jpg", image("JPEG"), "image/jpeg")
        check(
            clicksend.CalculateMmsPrice,
            mms.calculate_mms_price(
                calculate_mms_price_request=clicksend.CalculateMmsPriceRequest(
                    media_file=media,
                    messages=[
                        clicksend.CalculateMmsPriceRequestMessagesInner(
                            to="+14155552671", subject="S", body="B"
                        )
                    ],
                )
            ),
            data__total_price=(int, float),
        )
        check(
            clicksend.SendMms,
            mms.send_mms(
                send_mms_request=clicksend.SendMmsRequest(
                    media_file=media,
                    messages=[
                        clicksend.SendMmsRequestMessagesInner(
                            to="+14155552671", subject="Six", body="Hello", var_from="Dovecote"
                        )
                    ],
                )
            ),
            data__messages__0__message_id=str,
            data__messages__0__status=str,
            data__messages__0__media_file_url=str,
        )
    check(
        clicksend.ViewMmsHistory,
        mms.view_mms_history(),
        data__total=int,
        data__data__0__subject=str,
    )
    check(clicksend.ExportMmsHistory, mms.export_mms_history(filename="mms.csv"), data__url=str)

    # MMS campaigns: price, send (the media fetched once), list, read, change, cancel.
    # SDK 6.0.2's ViewAllMmsCampaigns reads the page without ClickSend's envelope (its SMS
    # twin has it); Dovecote answers in the envelope, so that page is read from the raw body.
    mms_list = clicksend.ListsApi(client).create_list(
        create_list_request=clicksend.CreateListRequest(list_name="MMS campaign")
    )
    assert mms_list.data is not None and mms_list.data.list_id is not None
    clicksend.ListsApi(client).create_new_contact(
        str(mms_list.data.list_id),
        create_new_contact_request=clicksend.CreateNewContactRequest(phone_number="+14155552671"),
    )
    mms_campaigns = clicksend.MmsCampaignsApi(client)
    with file_server() as served:
        media = served.serve("/c.jpg", image("JPEG"), "image/jpeg")
        campaign_body = {
            "list_id": str(mms_list.data.list_id),
            "name": "Six",
            "subject": "S",
            "body": "Hi {first_name}",
            "media_file": media,
        }
        check(
            clicksend.CalculateMmsCampaignPrice,
            mms_campaigns.calculate_mms_campaign_price(body=campaign_body),
            data__total_count=int,
            data__total_price=str,
        )
        mms_sent = mms_campaigns.send_mms_campaign(
            send_mms_campaign_request=clicksend.SendMmsCampaignRequest.from_dict(
                {**campaign_body, "schedule": int(time.time()) + 3600}
            )
        )
    check(clicksend.SendMmsCampaign, mms_sent, data__mms_campaign_id=int, data__status=str)
    assert mms_sent.data is not None
    mms_campaign_id = str(mms_sent.data.mms_campaign_id)
    mms_page = json.loads(mms_campaigns.view_all_mms_campaigns_without_preload_content().data)
    expect(
        clicksend.ViewAllMmsCampaigns.from_dict(mms_page["data"]),
        total=int,
        data__0__mms_campaign_id=int,
        data__0__media_file_url=str,
    )
    check(
        clicksend.ViewMmsCampaign,
        mms_campaigns.view_mms_campaign(mms_campaign_id),
        data__subject=str,
        data__list_name=str,
    )
    check(
        clicksend.UpdateMmsCampaign,
        mms_campaigns.update_mms_campaign(
            mms_campaign_id,
            calculate_sms_campaign_price_request=clicksend.CalculateSmsCampaignPriceRequest(
                list_id=str(mms_list.data.list_id), name="Six again", body="Hello"
            ),
        ),
        data__name=str,
    )
    check(
        clicksend.CancelMmsCampaign,
        mms_campaigns.cancel_mms_campaign(mms_campaign_id),
        data__status=str,
    )

    # Link tracking: an SMS campaign with url_to_shorten, then SDK 6's short-url reads (their
    # models put the page and `data` at the top level, beside http_code and response_code).
    tracked = clicksend.SmsCampaignsApi(client).send_sms_campaign(
        send_sms_campaign_request=clicksend.SendSmsCampaignRequest(
            list_id=mms_list.data.list_id,
            name="Tracked",
            var_from="Dovecote",
            body="Go smsg.us/xxxxx",
            senders=[],
            url_to_shorten="https://shop.example/",
            schedule=int(time.time()) + 3600,
        )
    )
    assert tracked.data is not None
    shortening = clicksend.UrlShorteningApi(client)
    short_stats = shortening.short_url_get_statistics(
        "sms-campaign", str(tracked.data.sms_campaign_id)
    )
    expect(short_stats, data__0__long_url_id=str, data__0__links__total=int, data__0__os=list)
    assert short_stats.data is not None and short_stats.data[0].long_url_id is not None
    expect(
        shortening.short_url_get_tracking(short_stats.data[0].long_url_id),
        total=int,
        per_page=int,
        data=list,
    )
    # The tracked campaign reads back with its link (the SMS campaign operations are
    # checked once, below, on a campaign of their own).
    check(
        clicksend.ViewSpecificSmsCampaign,
        clicksend.SmsCampaignsApi(client).view_specific_sms_campaign(
            str(tracked.data.sms_campaign_id)
        ),
        data__url_to_shorten=str,
    )
    # Post: return addresses (SDK 6 has no letter or postcard operations).
    post_addresses = clicksend.AddressesApi(client)
    created_return = post_addresses.create_return_address(
        create_return_address_request=clicksend.CreateReturnAddressRequest(
            address_name="Dovecote",
            address_line_1="2 Sender Road",
            address_city="Flynn",
            address_postal_code="6302",
            address_country="AU",
        )
    )
    check(clicksend.CreateReturnAddress, created_return, data__return_address_id=int)
    return_id = str(value(created_return, "data.return_address_id"))
    check(
        clicksend.ViewYourReturnAddresses,
        post_addresses.view_your_return_addresses(),
        data__total=int,
        data__data__0__address_postal_code=str,
    )
    check(
        clicksend.ViewSpecificReturnAddress,
        post_addresses.view_specific_return_address(return_id),
        data__address_name=str,
    )
    check(
        clicksend.UpdateReturnAddress,
        post_addresses.update_return_address(
            return_id,
            update_return_address_request=clicksend.UpdateReturnAddressRequest(
                address_country="AU", address_state="WA"
            ),
        ),
        data__address_state=str,
    )
    check(clicksend.DeleteReturnAddress, post_addresses.delete_return_address(return_id), data=list)

    # Uploads: SDK 6 declares no answer model (it returns None), so the raw answer is read.
    uploaded = clicksend.UploadsApi(client).upload_a_media_file_with_http_info(
        body={"content": base64.b64encode(image("PNG")).decode(), "convert": "mms"}
    )
    assert uploaded.status_code == 200
    upload = json.loads(uploaded.raw_data)
    assert (upload["http_code"], upload["response_code"]) == (200, "SUCCESS")
    expect(upload, data___url=str, data__file_name=str)

    # Global sending: the country list, the account's countries, agreeing to the rules.
    countries_list = countries.list_countries()
    check(clicksend.ListCountries, countries_list, data__0__id=int, data__0__code=str)
    country_id = value(countries_list, "data.0.id")
    check(
        clicksend.SelectCountriesForGlobalSending,
        countries.select_countries_for_global_sending(
            clicksend.SelectCountriesForGlobalSendingRequest(country_list_ids=[country_id])
        ),
        data__0__code=str,
    )
    check(
        clicksend.AgreeToRulesAndRegulation,
        countries.agree_to_rules_and_regulation(),
        data__0__agreed_at=int,
    )
    check(
        clicksend.GetCountriesForGlobalSending,
        countries.get_countries_for_global_sending(),
        data__0__id=int,
    )

    # Statistics.
    statistics = clicksend.StatisticsApi(client)
    check(
        clicksend.ViewSmsStatistics,
        statistics.view_sms_statistics(),
        data__stats=list,
        data__total__outbound__count=int,
        data__currency__currency_name_short=str,
    )
    check(clicksend.ViewVoiceStatistics, statistics.view_voice_statistics(), data__stats=list)

    # Account recovery: a reminder and a reset request (answered alike for unknown users).
    verification = clicksend.VerificationApi(client)
    check(
        clicksend.ForgotPassword,
        verification.forgot_password(
            forgot_password_request=clicksend.ForgotPasswordRequest(username="nobody")
        ),
        data=list,
    )
    check(
        clicksend.ForgotUsername,
        verification.forgot_username(
            forgot_username_request=clicksend.ForgotUsernameRequest(email="x@example.com")
        ),
        data=list,
    )

    # Email campaigns: a list with one contact, then price, send (scheduled), list, one,
    # update, history and its export, cancel.
    lists6 = clicksend.ListsApi(client)
    made = lists6.create_list(create_list_request=clicksend.CreateListRequest(list_name="E6"))
    assert made.data is not None and made.data.list_id is not None
    lists6.create_new_contact(
        str(made.data.list_id),
        create_new_contact_request=clicksend.CreateNewContactRequest(email="e6@example.net"),
    )
    campaign6 = {
        "name": "E6",
        "subject": "Hi {first_name}",
        "body": "<p>Hello</p>",
        "list_id": str(made.data.list_id),
        "from_email_address_id": str(world.address_id),
    }
    check(
        clicksend.CalculateEmailCampaignPrice,
        email.calculate_email_campaign_price(
            calculate_email_campaign_price_request=clicksend.CalculateEmailCampaignPriceRequest(
                **campaign6
            )
        ),
        data__total_count=int,
        data__total_price=str,
    )
    launched = email.send_email_campaign(
        send_email_campaign_request=clicksend.SendEmailCampaignRequest(**campaign6)
    )
    check(clicksend.SendEmailCampaign, launched, data__data__email_campaign_id=int)
    assert launched.data is not None and launched.data.data is not None
    email_campaign = str(launched.data.data.email_campaign_id)
    check(
        clicksend.ViewAllEmailCampaigns,
        email.view_all_email_campaigns(),
        data__data__0__status=str,
    )
    check(clicksend.ViewEmailCampaign, email.view_email_campaign(email_campaign), data__name=str)
    check(
        clicksend.UpdateEmailCampaign,
        email.update_email_campaign(
            email_campaign,
            update_email_campaign_request=clicksend.UpdateEmailCampaignRequest(name="E6b"),
        ),
        data__name=str,
    )
    check(
        clicksend.ViewEmailCampaignHistory,
        email.view_email_campaign_history(email_campaign),
        data__total=int,
    )
    email.export_email_campaign_history(email_campaign)
    check(
        clicksend.CancelEmailCampaign,
        email.cancel_email_campaign(email_campaign),
        data__status=str,
    )
    # Contacts and lists: two lists, a contact added twice then de-duplicated, copied to
    # the second list, removed as opted out there, transferred back; an import from a URL;
    # the search.
    people = clicksend.ContactsApi(client)
    lists = clicksend.ListsApi(client)
    made = lists.create_list(create_list_request=clicksend.CreateListRequest(list_name="Six"))
    check(clicksend.CreateList, made, data__list_id=int, data__list_name=str)
    list_id = str(value(made, "data.list_id"))
    opt_outs = lists.create_list(create_list_request=clicksend.CreateListRequest(list_name="Out"))
    opt_out_id = str(value(opt_outs, "data.list_id"))
    person = clicksend.CreateNewContactRequest(phone_number="+14155552671", first_name="Ann")
    contact = lists.create_new_contact(list_id, create_new_contact_request=person)
    check(
        clicksend.CreateNewContact,
        contact,
        data__contact_id=int,
        data__list_id=int,
        data__phone_number=str,
    )
    contact_id = str(value(contact, "data.contact_id"))  # de-duplicating keeps the first
    lists.create_new_contact(list_id, create_new_contact_request=person)
    check(clicksend.ViewLists, lists.view_lists(), data__total=int, data__data__0__list_id=int)
    check(
        clicksend.ViewSpecificList,
        lists.view_specific_list(list_id),
        data__list_name=str,
        data__contacts_count=int,
    )
    check(
        clicksend.UpdateList,
        lists.update_list(
            list_id, create_list_request=clicksend.CreateListRequest(list_name="Six 2")
        ),
        data__list_name=str,
    )
    check(
        clicksend.ViewListContacts,
        lists.view_list_contacts(list_id),
        data__total=int,
        data__data__0__contact_id=int,
        data__data__0__phone_number=str,
    )
    check(
        clicksend.GetSpecificContact,
        people.get_specific_contact(list_id, contact_id),
        data__contact_id=int,
        data__list_name=str,
        data__first_name=str,
    )
    check(
        clicksend.UpdateContact,
        people.update_contact(
            list_id,
            contact_id,
            create_new_contact_request=clicksend.CreateNewContactRequest(last_name="Lee"),
        ),
        data__last_name=str,
    )
    dedupe = clicksend.RemoveDuplicateContactsRequest(
        fields=clicksend.RemoveDuplicateContactsRequestFields(first_name="first_name")
    )
    check(
        clicksend.RemoveDuplicateContacts,
        lists.remove_duplicate_contacts(list_id, remove_duplicate_contacts_request=dedupe),
        data__deleted=int,
    )
    copied = lists.copy_contact_to_list(list_id, contact_id, opt_out_id)
    check(clicksend.CopyContactToList, copied, data__contact_id=int, data__list_id=int)
    opted = lists.remove_opted_out_contacts(list_id, opt_out_id)
    check(clicksend.RemoveOptedOutContacts, opted, data__deleted=int)
    assert value(opted, "data.deleted") == 1
    moved = lists.transfer_contact_to_list(
        opt_out_id, str(value(copied, "data.contact_id")), list_id
    )
    check(clicksend.TransferContactToList, moved, data__contact_id=int, data__list_id=int)
    assert value(moved, "data.list_id") == int(list_id)
    moved_id = str(value(moved, "data.contact_id"))
    with file_server() as server:
        csv_url = server.serve("/contacts.csv", b"+14155552672,Bob\n")
        check(
            clicksend.ImportContacts,
            lists.import_contacts(
                list_id,
                import_contacts_request=clicksend.ImportContactsRequest(
                    file_url=csv_url, field_order="phone,first_name"
                ),
            ),
            data__id=str,
            data__ids=list,
        )
    # The search: SDK 6 declares no answer model (it returns None), so the raw answer is read.
    searched = lists.view_contact_lists_with_http_info(q="Six")
    assert searched.status_code == 200
    found = json.loads(searched.raw_data)
    assert (found["http_code"], found["response_code"]) == (200, "SUCCESS")
    expect(found, data__total=int, data__data__0__type=str, data__data__0__id=int)
    assert found["data"]["data"][0]["name"] == "Six 2"

    # SMS campaigns: priced, scheduled (so nothing is sent), listed, read, changed, cancelled.
    campaigns = clicksend.SmsCampaignsApi(client)
    check(
        clicksend.CalculateSmsCampaignPrice,
        campaigns.calculate_sms_campaign_price(
            calculate_sms_campaign_price_request=clicksend.CalculateSmsCampaignPriceRequest(
                list_id=list_id, name="Six", var_from="Dovecote", body="Hello"
            )
        ),
        data__total_count=int,
    )
    scheduled = campaigns.send_sms_campaign(
        send_sms_campaign_request=clicksend.SendSmsCampaignRequest(
            list_id=int(list_id),
            name="Six",
            var_from="Dovecote",
            body="Hello",
            schedule=int(time.time()) + 3600,
            senders=[clicksend.SendersInner(recipient_country_code="US", sender_id="Dovecote")],
        )
    )
    check(clicksend.SendSmsCampaign, scheduled, data__sms_campaign_id=int, data__status=str)
    campaign_id = str(value(scheduled, "data.sms_campaign_id"))
    check(
        clicksend.ViewSmsCampaigns,
        campaigns.view_sms_campaigns(),
        data__total=int,
        data__data__0__sms_campaign_id=int,
    )
    check(
        clicksend.ViewSpecificSmsCampaign,
        campaigns.view_specific_sms_campaign(campaign_id),
        data__list_id=int,
        data__name=str,
        data__status=str,
    )
    check(
        clicksend.UpdateSmsCampaign,
        campaigns.update_sms_campaign(
            campaign_id,
            calculate_sms_campaign_price_request=clicksend.CalculateSmsCampaignPriceRequest(
                list_id=list_id, name="Six 2", var_from="Dovecote", body="Hello again"
            ),
        ),
        data__name=str,
    )
    cancelled = campaigns.cancel_sms_campaign(campaign_id)
    check(clicksend.CancelSmsCampaign, cancelled, data__status=str)
    assert value(cancelled, "data.status") == "Cancelled"
    # Voice.
    voice_messaging = clicksend.VoiceMessagingApi(client)
    check(
        clicksend.ViewVoiceLanguages,
        voice_messaging.view_voice_languages(),
        data__0__code=str,
        data__0__country=str,
    )
    call = clicksend.SendVoiceMessageRequestMessagesInner(
        to="+12025550110", body="Hello", voice="female", lang="en-gb"
    )
    check(
        clicksend.CalculateVoicePrice,
        voice_messaging.calculate_voice_price(
            calculate_voice_price_request=clicksend.CalculateVoicePriceRequest(
                messages=[
                    clicksend.CalculateVoicePriceRequestMessagesInner(
                        to="+12025550110", body="Hello", voice="female", lang="en-gb"
                    )
                ]
            )
        ),
        data__total_price=(int, float),
        data__messages__0__message_price=str,
    )
    check(
        clicksend.SendVoiceMessage,
        voice_messaging.send_voice_message(
            send_voice_message_request=clicksend.SendVoiceMessageRequest(messages=[call])
        ),
        data__messages__0__message_id=str,
        data__messages__0__lang=str,
        data__currency__currency_name_short=str,
    )
    check(
        clicksend.GetVoiceHistory,
        voice_messaging.get_voice_history(),
        data__data__0__message_id=str,
    )
    check(
        clicksend.ExportVoiceHistory,
        voice_messaging.export_voice_history(filename="voice.csv"),
        data__url=str,
    )
    check(clicksend.ViewVoiceReceipts, voice_messaging.view_voice_receipts(), data__total=int)
    first, _ = schedule_calls(live_server.url, settings, "+12025550111", "+12025550112")
    check(clicksend.CancelVoiceMessage, voice_messaging.cancel_voice_message(message_id=first))
    check(
        clicksend.CancelAllVoiceMessages,
        voice_messaging.cancel_all_voice_messages(),
        data__count=int,
    )

    # Reseller: the owner resells, creates a client, lists, reads and changes it. SDK 6
    # sends a payment-card model as the body of the transfer and of the update (its
    # generator's mistake): the transfer lacks every field it needs (a 400), and the
    # update changes nothing.
    resell(settings)
    reseller = clicksend.ResellerApi(client)
    created_client = reseller.create_reseller_account(
        create_reseller_account_request=clicksend.CreateResellerAccountRequest(
            **client_fields("client6")
        )
    )
    check(
        clicksend.CreateResellerAccount,
        created_client,
        data__user_id=int,
        data__balance=str,
        data__active=int,
        data__currency__currency_name_short=str,
        data__subaccount__api_key=str,
    )
    client_user_id = str(value(created_client, "data.user_id"))
    check(
        clicksend.ViewClientAccounts,
        reseller.view_client_accounts(),
        data__total=int,
        data__data__0__user_id=int,
        data__data__0__balance=str,
    )
    check(
        clicksend.ViewSpecificClientAccount,
        reseller.view_specific_client_account(client_user_id=client_user_id),
        data__username=str,
        data__account_name=str,
    )
    check(
        clicksend.UpdateClientAccount,
        reseller.update_client_account(
            client_user_id=client_user_id,
            update_payment_info_request=clicksend.UpdatePaymentInfoRequest(),
        ),
        data__user_id=int,
    )
    with pytest.raises(clicksend.exceptions.BadRequestException):
        reseller.reseller_transfer_credit(
            update_payment_info_request=clicksend.UpdatePaymentInfoRequest()
        )
    check(
        clicksend.ViewReferralAccounts,
        clicksend.ReferralsApi(client).view_referral_accounts(),
        data__total=int,
    )

    # Recharge: save a (sandbox test) card, list packages, buy one, read its transaction.
    recharging = clicksend.TransactionsApi(client)
    check(
        clicksend.UpdatePaymentInfo,
        recharging.update_payment_info(
            update_payment_info_request=clicksend.UpdatePaymentInfoRequest(
                number="4242424242424242", expiry_month=12, expiry_year=2099, cvc=123, name="Six"
            )
        ),
        data__token=str,
    )
    check(
        clicksend.CurrentPaymentInfo,
        recharging.current_payment_info(),
        data__display_number=str,
        data__expiry_month=int,
    )
    check(
        clicksend.ViewRechargePackages,
        recharging.view_recharge_packages(),
        data__packages__0__package_price=str,
        data__packages__0__sms_quantity=int,
        data__currency__currency_name_short=str,
    )
    check(
        clicksend.PurchaseRechargePackage,
        recharging.purchase_recharge_package("1"),
        data__amount=int,
        data__currency=str,
    )
    bought = recharging.view_all_transactions()
    check(clicksend.ViewAllTransactions, bought, data__data__0__invoice_number=str)
    check(
        clicksend.ViewSpecificTransaction,
        recharging.view_specific_transaction(str(value(bought, "data.data.0.invoice_number"))),
        data__amount=(int, float),
        data__var_date=int,
    )

    # Deletes last.
    check(clicksend.DeleteSubaccount, subaccounts.delete_subaccount(subaccount_id=sub_id))
    check(clicksend.DeleteSmsTemplate, sms.delete_sms_template(template_id=sms_template_id))
    check(clicksend.DeleteEmailTemplate, email.delete_email_template(template_id=template_id))
    check(
        clicksend.DeleteAllowedEmailAddress,
        email.delete_allowed_email_address(email_address_id=other),
    )
    check(clicksend.DeleteContact, people.delete_contact(list_id, moved_id))
    check(clicksend.DeleteList, lists.delete_list(opt_out_id))
    check(clicksend.DeleteList, lists.delete_list(list_id))

    assert recorder.called == implemented_by("sdk6")


# --- SDK 5.0.91 -----------------------------------------------------------------------------


@pytest.fixture
def sdk5() -> ModuleType:
    if not SDK5_PATH.is_dir():
        pytest.fail(
            f"SDK 5.0.91 is missing: pip install --no-deps --target {SDK5_PATH} "
            "clicksend-client==5.0.91 (make test does it)"
        )
    if str(SDK5_PATH) not in sys.path:
        sys.path.insert(0, str(SDK5_PATH))
    return importlib.import_module("clicksend_client")


def read5(raw: Any, **fields: type | tuple[type, ...]) -> dict[str, Any]:
    """SDK 5 declares its answers as `str` and returns `str(dict)` of the parsed JSON."""
    assert isinstance(raw, str)
    answer: dict[str, Any] = ast.literal_eval(raw)
    assert (answer["http_code"], answer["response_code"]) == (200, "SUCCESS"), answer
    expect(answer, **fields)
    return answer


def test_sdk5_calls_every_implemented_operation_and_reads_its_answers(
    live_server: Any, settings: Settings, sdk5: ModuleType
) -> None:
    world = prepare(live_server.url, settings)
    recorder = Recorder()
    config = sdk5.Configuration()
    config.host = live_server.url + "/v3"
    config.username = settings.owner_username
    config.password = settings.owner_api_key
    client = recorder.sdk5(sdk5.ApiClient(config))
    api: Callable[[str], Any] = lambda name: getattr(sdk5, name)(client)  # noqa: E731
    account, sms, subaccounts = api("AccountApi"), api("SMSApi"), api("SubaccountApi")
    addresses, masters = api("EmailMarketingApi"), api("MasterEmailTemplatesApi")
    transactional, templates = api("TransactionalEmailApi"), api("UserEmailTemplatesApi")

    read5(account.account_get(), data__user_id=int, data__balance=str, data__fax_quality=int)
    now = time.gmtime()
    read5(account.account_useage_by_subaccount_get(now.tm_year, now.tm_mon), data=dict)
    read5(api("CountriesApi").countries_get(), data__0__code=str)
    read5(api("TimezonesApi").timezones_get(), data=list)

    read5(addresses.allowed_email_address_get(), data__data__0__email_address_id=int)
    read5(
        addresses.specific_allowed_email_address_get(world.address_id),
        data__email_address=str,
    )
    added = read5(
        addresses.allowed_email_address_post(
            email_address=sdk5.EmailAddress(email_address="other@shop.example")
        ),
        data__email_address_id=int,
    )
    other = added["data"]["email_address_id"]
    read5(addresses.send_verification_token_get(other))
    with pytest.raises(sdk5.rest.ApiException) as wrong:
        addresses.verify_allowed_email_address_get(other, "WRONG")
    assert wrong.value.status == 400

    listed = read5(masters.master_email_templates_get(), data__0__template_id_master=int)
    master_id = listed["data"][0]["template_id_master"]
    read5(masters.master_email_template_get(master_id), data__body=str)
    categories = read5(masters.master_email_template_categories_get(), data__0__name=str)
    category = categories["data"][0]["category_id"]
    read5(masters.master_email_template_category_get(category), data__name=str)
    read5(masters.master_email_templates_in_category_get(category), data=list)

    created = read5(
        templates.email_template_post(
            sdk5.EmailTemplateNew(template_name="Welcome", template_id_master=master_id)
        ),
        data__template_id=int,
    )
    template_id = created["data"]["template_id"]
    read5(templates.email_templates_get(), data__data__0__template_id=int)
    read5(templates.email_template_get(template_id), data__template_name=str)
    read5(
        templates.email_template_put(
            template_id, sdk5.EmailTemplateUpdate(template_name="Welcome", body="<p>Hi</p>")
        ),
        data__body=str,
    )

    mail = sdk5.Email(
        to=[sdk5.EmailRecipient(email="ann@example.net", name="Ann")],
        _from=sdk5.EmailFrom(email_address_id=world.address_id, name="News"),
        subject="Hello",
        body="<p>Hello</p>",
    )
    read5(transactional.email_price_post(mail), data=dict)
    read5(transactional.email_send_post(mail), data__message_id=str, data__status=str)
    read5(transactional.email_history_get(), data__total=int)
    read5(transactional.email_history_export_get("email.csv"), data__url=str)

    batch = sdk5.SmsMessageCollection(
        messages=[sdk5.SmsMessage(source="sdk5", body="Hello", to="+12025550104")]
    )
    read5(sms.sms_price_post(batch), data__total_price=(int, float))
    read5(sms.sms_send_post(batch), data__messages__0__message_id=str)
    read5(sms.sms_history_get(), data__data__0__message_id=str)
    read5(sms.sms_history_export_get("sms.csv"), data__url=str)
    read5(sms.sms_cancel_by_message_id_put(world.scheduled_sms[0]))
    read5(sms.sms_cancel_all_put(), data__count=int)

    read5(sms.sms_receipts_by_message_id_get(world.delivered_sms), data__status_code=int)
    read5(sms.sms_receipts_get(), data__total=int)
    read5(sms.sms_receipts_post(sdk5.Url(url="poll")), data__message_id=str)
    read5(sms.sms_receipts_read_put(date_before=sdk5.DateBefore(date_before=1)))

    read5(sms.sms_inbound_get(), data__data__0__message_id=str)
    read5(sms.sms_inbound_post(sdk5.Url(url="poll")), data__message_id=str)
    read5(sms.sms_inbound_read_by_message_id_put(world.reply_id))
    read5(sms.sms_inbound_read_put(date_before=sdk5.DateBefore(date_before=1)))

    template = read5(
        sms.sms_templates_post(sdk5.SmsTemplate(template_name="Reminder", body="See you")),
        data__template_id=int,
    )
    sms_template_id = template["data"]["template_id"]
    read5(sms.sms_templates_get(), data__data__0__template_name=str)
    read5(
        sms.sms_templates_by_template_id_put(
            sms_template_id, sdk5.SmsTemplate(template_name="Reminder", body="Soon")
        ),
        data__body=str,
    )

    voice = api("VoiceApi")
    call = sdk5.VoiceMessage(
        to="+12025550113",
        body="Hello",
        voice="male",
        lang="en-us",
        custom_string="sdk5",
        country="US",
        schedule=int(time.time()) + 3600,
    )
    calls = sdk5.VoiceMessageCollection(messages=[call, call])
    read5(voice.voice_lang_get(), data__0__code=str)
    read5(voice.voice_price_post(calls), data__total_price=(int, float))
    queued = read5(voice.voice_send_post(calls), data__messages__0__message_id=str)
    read5(voice.voice_history_get(), data__data__0__message_id=str)
    read5(voice.voice_history_export_get("voice.csv"), data__url=str)
    read5(voice.voice_receipts_get(), data__total=int)
    read5(voice.voice_receipts_post(sdk5.Url(url="poll")), data__message_id=str)
    read5(voice.voice_receipts_read_put())
    read5(voice.voice_cancel_by_message_id_put(queued["data"]["messages"][0]["message_id"]))
    read5(voice.voice_cancel_all_put(), data__count=int)

    fax = api("FAXApi")
    with file_server() as documents:
        document = documents.serve("/fax.pdf", pdf(2), "application/pdf")
        faxes = sdk5.FaxMessageCollection(
            file_url=document, messages=[sdk5.FaxMessage(to="+12025550114")]
        )
        read5(fax.fax_price_post(faxes), data__messages__0__message_pages=int)
        read5(fax.fax_send_post(faxes), data__messages__0__message_id=str)
    read5(fax.fax_history_get(), data__data__0__message_pages=int)
    receipt = read5(fax.fax_receipts_post(sdk5.Url(url="poll")), data__message_id=str)
    read5(fax.fax_receipts_get(), data__total=int)
    read5(
        fax.fax_receipts_by_message_id_get(receipt["data"]["message_id"]),
        data__status_code=str,
    )
    read5(fax.fax_receipts_read_put())

    new = read5(
        subaccounts.subaccounts_post(
            sdk5.Subaccount(
                api_username="sdk5-models",
                password="a-long-password",
                email="sdk5@example.com",
                phone_number="+61411111111",
                first_name="Five",
                last_name="Models",
            )
        ),
        data__subaccount_id=int,
        data__api_key=str,
    )
    sub_id = new["data"]["subaccount_id"]
    read5(subaccounts.subaccounts_get(), data__data__0__api_username=str)
    read5(subaccounts.subaccounts_by_subaccount_id_get(sub_id), data__access_sms=int)
    read5(
        subaccounts.subaccounts_by_subaccount_id_put(
            sub_id,
            sdk5.Subaccount(
                api_username="sdk5-models",
                password="another-long-password",
                email="five@example.com",
                phone_number="+61411111112",
                first_name="Five",
                last_name="Models",
            ),
        ),
        data__email=str,
    )
    read5(subaccounts.subaccounts_regen_api_key_by_subaccount_id_put(sub_id), data__api_key=str)

    # Numbers and email-to-SMS.
    asyncio.run(load_into(settings.database_url))
    numbers5, email_sms5 = api("NumberApi"), api("EmailToSmsApi")
    read5(
        numbers5.numbers_search_by_country_get("US", search="0188", search_type=2),
        data__data__0__dedicated_number=str,
    )
    read5(numbers5.numbers_buy_by_dedicated_number_post("+12025550188"), data__price_total=str)
    read5(numbers5.numbers_get(), data__data__0__dedicated_number=str)
    read5(
        email_sms5.sms_email_sms_post(
            sdk5.EmailSMSAddress(email_address="ops@example.com", _from="Dovecote")
        ),
        data__email_address_id=int,
    )
    read5(email_sms5.sms_email_sms_get(), data__data__0__email_address=str)
    rule5 = read5(
        email_sms5.sms_email_sms_stripped_string_post(sdk5.StrippedString("[robot]")),
        data__rule_id=int,
    )
    rule5_id = rule5["data"]["rule_id"]
    read5(email_sms5.sms_email_sms_stripped_strings_get(), data__data__0__strip_string=str)
    read5(email_sms5.sms_email_sms_stripped_string_get(rule5_id), data__strip_string=str)
    read5(
        email_sms5.sms_email_sms_stripped_string_put(sdk5.StrippedString("[bot]"), rule5_id),
        data__strip_string=str,
    )
    read5(email_sms5.sms_email_sms_stripped_string_delete(rule5_id), data=bool)

    # Automations: inbound SMS and fax rules, then fax, email, SMS and voice receipt rules
    # (create, read, update, list, delete each); delivery issues.
    hook = "https://hooks.example.com/in"
    sms_rules, fax_rules = api("InboundSMSRulesApi"), api("InboundFAXRulesApi")
    sms_rule = sdk5.InboundSMSRule(
        dedicated_number="*",
        rule_name="Stop",
        message_search_type=1,
        message_search_term="STOP",
        action="URL",
        action_address=hook,
        enabled=1,
    )
    fax_rule = sdk5.InboundFaxRule(
        dedicated_number="+61298441484",
        rule_name="Fax",
        action="URL",
        action_address=hook,
        enabled=1,
    )
    for rules, prefix, rule in ((sms_rules, "sms", sms_rule), (fax_rules, "fax", fax_rule)):
        made = read5(
            getattr(rules, f"{prefix}_inbound_automation_post")(rule),
            data__inbound_rule_id=int,
            data__action=str,
            data__enabled=int,
        )
        made_id = made["data"]["inbound_rule_id"]
        read5(
            getattr(rules, f"{prefix}_inbound_automation_get")(made_id),
            data__rule_name=str,
            data__dedicated_number=str,
        )
        rule.enabled = 0
        read5(getattr(rules, f"{prefix}_inbound_automation_put")(made_id, rule), data__enabled=int)
        read5(
            getattr(rules, f"{prefix}_inbound_automations_get")(),
            data__total=int,
            data__data__0__inbound_rule_id=int,
        )
        read5(getattr(rules, f"{prefix}_inbound_automation_delete")(made_id), data=list)
    receipt_rule = sdk5.DeliveryReceiptRule(
        rule_name="R", match_type=0, action="URL", action_address=hook, enabled=1
    )
    for name, prefix, deleted in (
        ("FAXDeliveryReceiptRulesApi", "fax", type(None)),
        ("EmailDeliveryReceiptRulesApi", "email", bool),
        ("SMSDeliveryReceiptRulesApi", "sms", list),
        ("VoiceDeliveryReceiptRulesApi", "voice", list),
    ):
        receipts = api(name)
        made = read5(
            getattr(receipts, f"{prefix}_delivery_receipt_automation_post")(receipt_rule),
            data__receipt_rule_id=int,
            data__match_type=int,
        )
        made_id = made["data"]["receipt_rule_id"]
        read5(
            getattr(receipts, f"{prefix}_delivery_receipt_automation_get")(made_id),
            data__action=str,
        )
        read5(
            getattr(receipts, f"{prefix}_delivery_receipt_automation_put")(made_id, receipt_rule),
            data__enabled=int,
        )
        read5(
            getattr(receipts, f"{prefix}_delivery_receipt_automations_get")(),
            data__data__0__receipt_rule_id=int,
        )
        read5(
            getattr(receipts, f"{prefix}_delivery_receipt_automation_delete")(made_id),
            data=deleted,
        )
    issues = api("DeliveryIssuesApi")
    read5(
        issues.delivery_issues_post(
            sdk5.DeliveryIssue(
                message_id=world.delivered_sms,
                type="SMS",
                description="Never arrived.",
                email_address="five@example.com",
            )
        ),
        data__issue_id=int,
        data__type=str,
    )
    read5(issues.delivery_issues_get(), data__total=int, data__data__0__issue_id=str)

    # MMS: price, send (the media is fetched from a local server), receipts, history, export.
    mms = api("MMSApi")
    with file_server() as served:
        media = served.serve("/a.gif", image("GIF"), "image/gif")
        photo = sdk5.MmsMessageCollection(
            media_file=media,
            messages=[
                sdk5.MmsMessage(to="+14155552671", subject="Five", body="Hello", _from="Dovecote")
            ],
        )
        read5(mms.mms_price_post(photo), data__total_price=(int, float))
        read5(
            mms.mms_send_post(photo),
            data__messages__0__message_id=str,
            data__messages__0__status=str,
        )
    read5(mms.mms_receipts_get(), data__total=int)
    read5(mms.mms_receipts_read_put())
    read5(mms.mms_history_get(), data__data__0__subject=str)
    read5(mms.mms_history_export_get("mms.csv"), data__url=str)

    # MMS campaigns: price, send, list, read, change, cancel.
    lists5, mms_campaigns5 = api("ContactListApi"), api("MmsCampaignApi")
    list5 = read5(lists5.lists_post(sdk5.ContactList(list_name="MMS campaign 5")))
    read5(
        api("ContactApi").lists_contacts_by_list_id_post(
            sdk5.Contact(phone_number="+14155552671", custom_1=""), list5["data"]["list_id"]
        )
    )
    with file_server() as served:
        media = served.serve("/c.gif", image("GIF"), "image/gif")
        campaign5 = sdk5.MmsCampaign(
            list_id=list5["data"]["list_id"],
            name="Five",
            body="Hello",
            subject="S",
            media_file=media,
            schedule=int(time.time()) + 3600,
        )
        read5(mms_campaigns5.mms_campaigns_price_post(campaign5), data__total_count=int)
        sent5 = read5(mms_campaigns5.mms_campaigns_send_post(campaign5), data__mms_campaign_id=int)
        mms5_id = sent5["data"]["mms_campaign_id"]
        read5(mms_campaigns5.mms_campaigns_get(), data__data__0__mms_campaign_id=int)
        read5(mms_campaigns5.mms_campaign_by_mms_campaign_id_get(mms5_id), data__subject=str)
        read5(
            mms_campaigns5.mms_campaigns_by_mms_campaign_id_put(mms5_id, campaign5),
            data__name=str,
        )
    read5(mms_campaigns5.mms_campaigns_cancel_by_mms_campaign_id_put(mms5_id), data__status=str)

    # SMS campaigns: price, send, list, read, change, cancel.
    sms_campaigns5 = api("SmsCampaignApi")
    sms_campaign5 = sdk5.SmsCampaign(
        list_id=list5["data"]["list_id"],
        name="Five",
        body="Hello",
        _from="Dovecote",
        schedule=int(time.time()) + 3600,
    )
    read5(sms_campaigns5.sms_campaigns_price_post(sms_campaign5), data__total_count=int)
    sms5 = read5(sms_campaigns5.sms_campaigns_send_post(sms_campaign5), data__sms_campaign_id=int)
    sms5_id = sms5["data"]["sms_campaign_id"]
    read5(sms_campaigns5.sms_campaigns_get(), data__data__0__sms_campaign_id=int)
    read5(sms_campaigns5.sms_campaign_by_sms_campaign_id_get(sms5_id), data__name=str)
    read5(
        sms_campaigns5.sms_campaigns_by_sms_campaign_id_put(sms5_id, sms_campaign5),
        data__name=str,
    )
    read5(sms_campaigns5.sms_campaigns_cancel_by_sms_campaign_id_put(sms5_id), data__status=str)
    # Post: a return address, letters priced, sent, listed and exported; the address
    # updated and deleted.
    post_returns = api("PostReturnAddressApi")

    def post_address(name: str) -> Any:
        return sdk5.Address(
            address_name=name,
            address_line_1="2 Sender Road",
            address_city="Flynn",
            address_postal_code="6302",
            address_country="AU",
        )

    made = read5(
        post_returns.post_return_addresses_post(post_address("Dovecote")),
        data__return_address_id=int,
    )
    return_id = made["data"]["return_address_id"]
    read5(post_returns.post_return_addresses_get(), data__total=int)
    read5(
        post_returns.post_return_addresses_by_return_address_id_get(return_id),
        data__address_name=str,
    )
    letters = api("PostLetterApi")
    with file_server() as served:
        letter = sdk5.PostLetter(
            file_url=served.serve("/l.pdf", pdf_of("A4", 2), "application/pdf"),
            recipients=[
                sdk5.PostRecipient(
                    address_name="Jane",
                    address_line_1="1 Example Street",
                    address_city="Perth",
                    address_state="WA",
                    address_postal_code="6000",
                    address_country="AU",
                    return_address_id=return_id,
                )
            ],
        )
        read5(letters.post_letters_price_post(letter), data__total_price=(int, float))
        read5(
            letters.post_letters_send_post(letter),
            data__recipients__0__message_id=str,
            data__recipients__0__post_price=str,
        )
    read5(letters.post_letters_history_get(), data__data__0__post_pages=int)
    read5(letters.post_letters_export_get("letters.csv"), data__url=str)
    read5(
        api("DetectAddressApi").detect_address_post(
            sdk5.UploadFile(
                content=base64.b64encode(
                    addressed_letter(["Jane", "1 St", "Perth WA 6000"])
                ).decode()
            )
        ),
        data__address_postal_code=str,
    )
    postcards = api("PostPostcardApi")
    with file_server() as served:
        card = sdk5.PostPostcard(
            file_urls=[served.serve("/c.pdf", pdf_of((148, 105), 2), "application/pdf")],
            recipients=[
                sdk5.PostRecipient(
                    address_name="Jane",
                    address_line_1="1 Example Street",
                    address_city="Perth",
                    address_state="WA",
                    address_postal_code="6000",
                    address_country="AU",
                    return_address_id=0,
                )
            ],
        )
        read5(postcards.post_postcards_price_post(card), data__total_price=(int, float))
        read5(postcards.post_postcards_send_post(card), data__recipients__0__message_id=str)
    read5(postcards.post_postcards_history_get(), data__data__0__post_price=str)
    read5(postcards.post_postcards_history_export_get("cards.csv"), data__url=str)
    read5(
        post_returns.post_return_addresses_by_return_address_id_put(
            return_id, post_address("Renamed")
        ),
        data__address_name=str,
    )
    read5(post_returns.post_return_addresses_by_return_address_id_delete(return_id))

    # Uploads (SDK 5 sends `convert` in the query).
    read5(
        api("UploadApi").uploads_post(
            sdk5.UploadFile(content=base64.b64encode(image("PNG")).decode()), "mms"
        ),
        data___url=str,
        data__file_name=str,
    )

    # Global sending: the country list, the account's countries, agreeing to the rules.
    sending = api("GlobalSendingApi")
    names = read5(sending.list_countries_get(), data__0__id=int, data__0__code=str)
    read5(
        sending.user_countries_post(sdk5.CountryListIds(country_list_ids=[names["data"][0]["id"]])),
        data__0__code=str,
    )
    read5(sending.user_countries_get(), data__0__id=int)
    read5(sending.user_countries_agree_post(), data__0__agreed_at=int)

    # Statistics.
    statistics = api("StatisticsApi")
    read5(statistics.statistics_sms_get(), data__stats=list, data__total__outbound__count=int)
    read5(statistics.statistics_voice_get(), data__stats=list)

    # Sign-up (opened by this module's settings), then the new user asks for a verification
    # token; a wrong token is a 400, which the SDK raises.
    signing_up = sdk5.Configuration()
    signing_up.host = live_server.url + "/v3"
    signups = sdk5.AccountApi(recorder.sdk5(sdk5.ApiClient(signing_up)))
    read5(
        signups.account_post(
            sdk5.Account(
                username="ada",
                password="correct horse battery",
                user_email="ada@example.com",
                user_phone="518-481-1001",
                user_first_name="Ada",
                user_last_name="Lovelace",
                account_name="Analytical Engines",
                country="US",
            )
        ),
        data__user_id=int,
        data__username=str,
        data__active=int,
    )
    as_ada = sdk5.Configuration()
    as_ada.host = live_server.url + "/v3"
    as_ada.username, as_ada.password = "ada", "correct horse battery"
    ada = sdk5.AccountApi(recorder.sdk5(sdk5.ApiClient(as_ada)))
    read5(
        ada.account_verify_send_put(
            sdk5.AccountVerify(country="US", user_phone="+15184811001", type="email")
        )
    )
    with pytest.raises(sdk5.rest.ApiException) as refused:
        ada.account_verify_verify_by_activation_token_put("not-a-token")
    assert refused.value.status == 400

    # Account recovery: reminders and a reset request (answered alike for unknown users);
    # a reset with a wrong token is a 400.
    read5(account.forgot_password_put(forgot_password=sdk5.ForgotPassword(username="nobody")))
    read5(account.forgot_username_put(forgot_username=sdk5.ForgotUsername(email="x@example.com")))
    with pytest.raises(sdk5.rest.ApiException) as reset:
        account.forgot_password_verify_put(
            sdk5.AccountForgotPasswordVerify(
                subaccount_id=1, activation_token="not-a-token", password="long enough"
            )
        )
    assert reset.value.status == 400

    # Email campaigns: a list with one contact, then price, send, one, list, update,
    # history and its export, cancel.
    list5 = read5(api("ContactListApi").lists_post(sdk5.ContactList(list_name="E5")))
    list5_id = list5["data"]["list_id"]
    api("ContactApi").lists_contacts_by_list_id_post(
        sdk5.Contact(phone_number="+14155552671", email="e5@example.net", custom_1=""), list5_id
    )
    campaign5 = sdk5.EmailCampaign(
        name="E5",
        subject="Hi",
        body="<p>Hello</p>",
        from_email_address_id=world.address_id,
        from_name="News",
        list_id=list5_id,
    )
    read5(addresses.email_campaign_price_post(campaign5), data__total_count=int)
    launched5 = read5(addresses.email_campaign_post(campaign5), data__data__email_campaign_id=int)
    campaign5_id = launched5["data"]["data"]["email_campaign_id"]
    read5(addresses.email_campaign_get(campaign5_id), data__name=str)
    read5(addresses.email_campaigns_get(), data__data__0__status=str)
    read5(addresses.email_campaign_put(campaign5_id, campaign5), data__name=str)
    read5(addresses.email_campaign_history_get(campaign5_id), data__total=int)
    read5(addresses.email_campaign_history_export_get(campaign5_id), data__url=str)
    read5(addresses.cancel_email_campaign_put(campaign5_id), data__status=str)
    # Contacts and lists: two lists, a contact added twice then de-duplicated, copied to
    # the second list, removed as opted out there, transferred back; an import from a URL;
    # the search.
    lists, people = api("ContactListApi"), api("ContactApi")
    made = read5(lists.lists_post(sdk5.ContactList(list_name="Five")), data__list_id=int)
    list_id = made["data"]["list_id"]
    opt_outs = read5(lists.lists_post(sdk5.ContactList(list_name="Out")), data__list_id=int)
    opt_out_id = opt_outs["data"]["list_id"]
    person = sdk5.Contact(phone_number="+14155552671", first_name="Gorne", custom_1="")
    contact = read5(
        people.lists_contacts_by_list_id_post(person, list_id),
        data__contact_id=int,
        data__phone_number=str,
    )
    contact_id = contact["data"]["contact_id"]  # de-duplicating keeps the first
    read5(people.lists_contacts_by_list_id_post(person, list_id))
    read5(lists.lists_get(), data__total=int, data__data__0__list_id=int)
    read5(lists.lists_by_list_id_get(list_id), data__list_name=str, data___contacts_count=int)
    read5(
        lists.lists_by_list_id_put(list_id, sdk5.ContactList(list_name="Five 2")),
        data__list_name=str,
    )
    read5(
        people.lists_contacts_by_list_id_get(list_id),
        data__total=int,
        data__data__0__contact_id=int,
    )
    read5(
        people.lists_contacts_by_list_id_and_contact_id_get(list_id, contact_id),
        data___list_name=str,
        data__first_name=str,
    )
    read5(
        people.lists_contacts_by_list_id_and_contact_id_put(
            list_id,
            contact_id,
            sdk5.Contact(phone_number="+14155552671", last_name="Lee", custom_1=""),
        ),
        data__last_name=str,
    )
    deduped = read5(
        lists.lists_remove_duplicates_by_list_id_put(list_id, sdk5.Fields(fields=["phone_number"])),
        data__deleted=int,
    )
    assert deduped["data"]["deleted"] == 1
    copied = read5(
        people.lists_copy_contact_put(list_id, contact_id, opt_out_id),
        data__contact_id=int,
        data__list_id=int,
    )
    opted = read5(
        people.lists_remove_opted_out_contacts_by_list_id_and_opt_out_list_id_put(
            list_id, opt_out_id
        ),
        data__deleted=int,
    )
    assert opted["data"]["deleted"] == 1
    moved = read5(
        people.lists_transfer_contact_put(opt_out_id, copied["data"]["contact_id"], list_id),
        data__contact_id=int,
        data__list_id=int,
    )
    assert moved["data"]["list_id"] == list_id
    with file_server() as server:
        csv_url = server.serve("/contacts.csv", b"+14155552672,Bob\n")
        imported = read5(
            lists.lists_import_by_list_id_post(
                list_id,
                sdk5.ContactListImport(file_url=csv_url, field_order=["phone", "first_name"]),
            )
        )
        assert imported["response_msg"] == "Your file is now queued."
    found = read5(
        api("SearchApi").search_contacts_lists_get("gorne"),
        data__total=int,
        data__data__0__type=str,
        data__data__0__id=int,
    )
    assert found["data"]["data"][0]["type"] == "contact"

    # SMS campaigns: priced, scheduled (so nothing is sent), listed, read, changed, cancelled.
    campaigns = api("SmsCampaignApi")
    campaign = sdk5.SmsCampaign(
        list_id=list_id,
        name="Five",
        body="Hello",
        _from="Dovecote",
        schedule=int(time.time()) + 3600,
    )
    read5(campaigns.sms_campaigns_price_post(campaign), data__total_count=int)
    scheduled = read5(
        campaigns.sms_campaigns_send_post(campaign),
        data__sms_campaign_id=int,
        data__status=str,
    )
    campaign_id = scheduled["data"]["sms_campaign_id"]
    read5(campaigns.sms_campaigns_get(), data__total=int, data__data__0__sms_campaign_id=int)
    read5(
        campaigns.sms_campaign_by_sms_campaign_id_get(campaign_id),
        data__list_id=int,
        data__name=str,
    )
    campaign.name = "Five 2"
    changed = read5(
        campaigns.sms_campaigns_by_sms_campaign_id_put(campaign_id, campaign), data__name=str
    )
    assert changed["data"]["name"] == "Five 2"
    cancelled = read5(
        campaigns.sms_campaigns_cancel_by_sms_campaign_id_put(campaign_id), data__status=str
    )
    assert cancelled["data"]["status"] == "Cancelled"

    # Reseller: a client created, listed, read, changed, funded; referrals.
    resell(settings)
    resellers = api("ResellerAccountApi")
    created_client = read5(
        resellers.reseller_accounts_post(sdk5.ResellerAccount(**client_fields("client5"))),
        data__user_id=int,
        data__balance=str,
    )
    client_user_id = created_client["data"]["user_id"]
    read5(resellers.reseller_accounts_get(), data__total=int, data__data__0__username=str)
    read5(resellers.reseller_accounts_by_client_user_id_get(client_user_id), data__username=str)
    renamed = read5(
        resellers.reseller_accounts_by_client_user_id_put(
            client_user_id,
            sdk5.ResellerAccount(**{**client_fields("client5"), "account_name": "Renamed"}),
        ),
        data__account_name=str,
    )
    assert renamed["data"]["account_name"] == "Renamed"
    funded = read5(
        api("TransferCreditApi").reseller_transfer_credit_put(
            sdk5.ResellerAccountTransferCredit(
                client_user_id=client_user_id, balance=1.5, currency="USD"
            )
        ),
        data__balance=str,
    )
    assert funded["data"]["balance"] == "1.500000"
    read5(api("ReferralAccountApi").referral_accounts_get(), data__total=int)
    recharging = api("AccountRechargeApi")
    read5(
        recharging.recharge_credit_card_put(
            sdk5.CreditCard(
                number="4242424242424242",
                expiry_month=12,
                expiry_year=2099,
                cvc=123,
                name="Five",
                bank_name="Bank",
            )
        ),
        data__token=str,
    )
    read5(recharging.recharge_credit_card_get(), data__display_number=str)
    read5(recharging.recharge_packages_get(), data__packages__0__package_id=int)
    read5(recharging.recharge_purchase_by_package_id_put(2), data__amount=int)
    paid = read5(recharging.recharge_transactions_get(), data__data__0__invoice_number=str)
    read5(
        recharging.recharge_transactions_by_transaction_id_get(
            paid["data"]["data"][0]["invoice_number"]
        ),
        data__amount=(int, float),
    )

    read5(subaccounts.subaccounts_by_subaccount_id_delete(sub_id))
    read5(sms.sms_templates_by_template_id_delete(sms_template_id))
    read5(templates.email_template_delete(template_id))
    read5(addresses.specific_allowed_email_address_delete(other))
    read5(
        people.lists_contacts_by_list_id_and_contact_id_delete(list_id, moved["data"]["contact_id"])
    )
    read5(lists.lists_by_list_id_delete(opt_out_id))
    read5(lists.lists_by_list_id_delete(list_id))

    assert recorder.called == implemented_by("sdk5")
