"""One contract run over everything Dovecote implements of its three references.

Every operation Dovecote routes from the ClickSend v3 spec (paths compared without their
query strings), the SendGrid Email Activity spec plus SendGrid's `POST /v3/mail/send`,
and PayPI's EmailVerify spec, is fuzzed by schemathesis against a live server, in
positive and negative mode, with the owner's credentials (Basic for ClickSend, Bearer
for SendGrid and PayPI). Hypothesis runs derandomized (tests/conftest.py), so every run
sends the same requests and a failure can always be replayed.

Each response must not be a 5xx, must carry a declared status and content type, and
must match the declared schema; a schema-violating request must be refused (no 2xx),
except where `ACCEPTED_NEGATIVE` says why that check says nothing about an operation.
Where a reference is wrong, its adapted copy below corrects it and says why; the server
checks are never weakened. A failure found here becomes a plain example test beside the
module's other tests (tests/apis/...); where the fix belongs to a module others are
changing, that test is xfail(strict=True) and `KNOWN_DEFECTS` names it until it passes.
Every operation is also called once without credentials (401, but the operations
`PUBLIC` names), and a real message's detail is checked against the adapted schema.

The run uses SQLite only: on both backends it would take twice as long, and the
per-module tests already run on both.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import functools
import importlib.util
import inspect
import re
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
import requests
import sqlalchemy as sa

from activity_rows import VISIBLE, insert_messages, make_world
from apis.test_emailverify import adapted_spec as paypi_adapted_spec
from conftest import OWNER, OWNER_KEY, OWNER_PASSWORD, LiveServer
from dispatch_support import deliver
from dovecote.settings import Settings
from dovecote.storage.db import create_engine
from dovecote.storage.tables import accounts, users
from email_support import add_address

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT.parent / "shared" / "reference"


def _compat_table() -> ModuleType:
    """scripts/compat_table.py, which owns "Dovecote routes this operation": the same
    matching as docs/compatibility.md (paths compared with parameter names erased)."""
    spec = importlib.util.spec_from_file_location(
        "compat_table", ROOT / "scripts" / "compat_table.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


compat_table = _compat_table()

SENDER = "news@shop.example"  # the owner's verified sender for SendGrid mail/send

# Generated requests per operation and mode. Operations without inputs have a single
# request to make; the rest share the budget, which must reach MIN_REQUESTS in total.
EXAMPLES = 66
SLOW_TO_GENERATE = {
    ("POST", "/v3/mail/send"): 35,
    ("POST", "/v3/email/send"): 45,
    ("POST", "/v3/email/price"): 45,
}
MIN_REQUESTS = 5_000
# The run is split into shards, each its own test with its own server, so that xdist
# spreads it over both cores (in one test it was the suite's longest pole, ~3 minutes).
# Operations are dealt round-robin in a fixed order: every run fuzzes the same ones.
SHARDS = 8

# Operations a caller reaches without credentials, and why: everything else must answer 401.
PUBLIC: dict[tuple[str, str], str] = {
    ("GET", "/v3/countries"): "reference data, public in ClickSend",
    (
        "POST",
        "/v3/account",
    ): "sign-up (the spec: no authentication), off unless DOVECOTE_SIGNUP=open",
    ("PUT", "/v3/account-verify/verify/{activation_token}"): "the mailed token is the credential",
    ("PUT", "/v3/forgot-username"): "account recovery: the caller has no credentials",
    ("PUT", "/v3/forgot-password"): "account recovery: the caller has no credentials",
    ("PUT", "/v3/forgot-password/verify"): "the mailed token is the credential",
    (
        "POST",
        "/v3/reseller/accounts-public",
    ): "a reseller's public sign-up page: the caller has no account yet (off unless the "
    "reseller allows public sign-ups; the account stays inactive until its email is verified)",
    (
        "GET",
        "/v3/reseller/{subdomain}",
    ): "a reseller's branding, read by its sign-up page before anyone logs in",
}

# (method, path) → why a schema-violating request may still get a 2xx there. Only
# negative_data_rejection is lifted for these; every other check still applies.
ACCEPTED_NEGATIVE: dict[tuple[str, str], str] = {
    ("POST", "/v3/sms/send"): (
        "ClickSend answers a batch with one status per message (INVALID_RECIPIENT, "
        "…): a message the schema refuses is reported in a 200, never refused as a whole"
    ),
    ("POST", "/v3/sms/price"): "the same batch semantics as /v3/sms/send",
}
# Defects this run found in modules others are changing: each has an example test marked
# xfail(strict=True), and its check is lifted here until that test passes. Remove the
# entry with the xfail mark.
KNOWN_DEFECTS: dict[tuple[str, str], str] = {}

# --- the references, adapted -----------------------------------------------------------


def _load(name: str) -> dict[str, Any]:
    import schemathesis

    loaded: dict[str, Any] = copy.deepcopy(
        schemathesis.openapi.from_path(REFERENCE / name).raw_schema
    )
    return loaded


def _object(properties: dict[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = list(required)
    return schema


def _json_body(schema: dict[str, Any], *, required: bool = True) -> dict[str, Any]:
    return {"required": required, "content": {"application/json": {"schema": schema}}}


STRING: dict[str, Any] = {"type": "string"}
INTEGER: dict[str, Any] = {"type": "integer"}
NUMBER: dict[str, Any] = {"type": "number"}

# ClickSend's envelope, from the spec's introduction: every answer, error or not.
ENVELOPE = _object(
    {
        "http_code": INTEGER,
        "response_code": STRING,
        "response_msg": STRING,
        "data": {},
    },
    ("http_code", "response_code", "response_msg"),
)
CLICKSEND_ERRORS = {
    "400": "BAD_REQUEST",
    "401": "UNAUTHORIZED",
    "403": "FORBIDDEN",
    "404": "NOT_FOUND",
    "405": "NOT_FOUND",
    "429": "TOO_MANY_REQUESTS",
}
# Path parameters the spec types as `number` or `string` that are whole numbers (see
# `clicksend_spec`).
CLICKSEND_INTEGER_IDS = {
    "email_address_id",
    "template_id",
    "category_id",
    "subaccount_id",
    "client_user_id",
}


def sdk6_response_models() -> dict[tuple[str, str], str]:
    """(method, path with parameter names erased) → the model SDK 6.0.2 reads a 200 of
    that operation into, from the generated client itself (each operation's
    `_<name>_serialize` names its method and path, the operation its 200 model)."""
    import clicksend

    found: dict[tuple[str, str], str] = {}
    for api_name in dir(clicksend):
        api = getattr(clicksend, api_name)
        if not (api_name.endswith("Api") and isinstance(api, type)):
            continue
        for name in dir(api):
            serialize = getattr(api, f"_{name}_serialize", None)
            if name.startswith("_") or serialize is None:
                continue
            request = inspect.getsource(serialize)
            method = re.search(r"method='(\w+)'", request)
            path = re.search(r"resource_path='([^']+)'", request)
            model = re.search(r"""'200': "(\w+)",""", inspect.getsource(getattr(api, name)))
            if method and path and model:
                key = (method.group(1), compat_table.normalise(path.group(1)))
                found[key] = model.group(1)
    return found


def _sdk6_schemas(model: str) -> dict[str, Any]:
    """The JSON schema of SDK 6.0.2's `model` and of the models it holds, by name."""
    import clicksend

    schema = getattr(clicksend, model).model_json_schema(
        ref_template="#/components/schemas/{model}"
    )
    held: dict[str, Any] = schema.pop("$defs", {})
    for name, definition in held.items():
        # The generator's oneOf wrappers (ViewVoiceLanguagesDataInnerGender: a string or a
        # list of strings) are pydantic models whose JSON schema describes the wrapper's
        # fields; on the wire they are their `actual_instance`, which the SDK reads back.
        wrapped = definition.get("properties", {}).get("actual_instance")
        if wrapped is not None and "one_of_schemas" in definition["properties"]:
            held[name] = {"anyOf": wrapped["anyOf"]}
    return {**held, model: schema}


def clicksend_spec(routes: list[tuple[str, str]]) -> dict[str, Any]:
    """The published ClickSend spec, cut to the operations Dovecote routes, corrected:

    - Its server URL ends in `/v3/` and its paths are relative to it: the paths get the
      `/v3` prefix the app routes.
    - Four paths carry their query string in the path key (`/sms/history?date_from=
      {date_from}&date_to={date_to}`, the two `/history/export?filename={filename}`):
      they are the plain paths, and those placeholders are optional query parameters
      (declared `in: path`, hence required, by mistake; SDK 6.0.2 sends them only when
      given).
    - Ids in paths (`email_address_id`, `template_id`, `category_id`, `subaccount_id`,
      `client_user_id`)
      are whole numbers: the spec types them `number` or `string`, yet its own examples are
      all digits ('1', '4', '25'), and SDK 6.0.2 sends the digits of an `int` id. As
      fractions or words they are refused, which negative mode checks.
    - Only a few operations declare `security`: the harness sends the owner's Basic
      credentials with every request, and each operation is called once without them
      (a 401), so security is not generated. `/countries` is public, as ClickSend serves it.
    - Each operation declares only its 200, with no schema. The spec's introduction
      documents the envelope (`http_code`, `response_code`, `response_msg`, `data`) and
      the statuses 400, 401, 403, 404, 405 and 429: every operation declares them, with
      the envelope as the schema of each answer. A 200 must also be what SDK 6.0.2 reads
      it into, where SDK 6.0.2 has the operation (the JSON schema of its response model:
      where the SDK's models and the spec disagree, the SDK decides, says the README).
    - `/sms/send` and `/sms/price` list one message's fields at the top level; the body is
      `{"messages": [message, …]}` (the spec's own example, and both SDKs). A message
      needs a `body` (SDK 6.0.2).
    - `/email/send` and `/email/price` spell the sender as dotted names
      (`from.email_address_id`) and leave `to` untyped; the body is `{"to": [{"email",
      "name"}], "from": {"email_address_id", "name"}, …}` (the spec's example, both SDKs).
      `email_address_id` is a number in the spec and a string in SDK 6.0.2: both are sent.
      `/email/price` does not need `attachments` (SDK 6.0.2 has none).
    - The `required` lists of the update bodies (`PUT /account`, `PUT /subaccounts/{id}`,
      `PUT` of both template kinds, `PUT /reseller`, `PUT /reseller/accounts/{id}`) repeat the create bodies': an update changes what it
      is given (SDK 6.0.2's update models have no required field), as does a create of an
      SMS or email template, subaccount or allowed address in SDK 6.0.2 — Dovecote refuses
      what it cannot create with a 400, which the status checks cover.
    - `date_before` of `/sms/inbound-read` is required yet described as optional ("If not
      given, all messages will be marked as read"); both mark-read bodies are optional.
    """
    spec = _load("clicksend-v3.openapi.yaml")
    routed = {(method, compat_table.normalise(path)) for method, path in routes}
    sdk6_models = sdk6_response_models()
    schemas: dict[str, Any] = spec["components"].setdefault("schemas", {})
    paths: dict[str, dict[str, Any]] = {}
    for raw_path, item in spec["paths"].items():
        path, _, _query = raw_path.partition("?")
        for method, operation in item.items():
            if (method.upper(), compat_table.normalise("/v3" + path)) not in routed:
                continue
            operation = copy.deepcopy(operation)
            operation.pop("security", None)
            for parameter in operation.get("parameters", ()):
                if parameter.get("in") == "path" and f"{{{parameter['name']}}}" not in path:
                    parameter["in"] = "query"
                    parameter["required"] = False
                elif parameter.get("in") == "path" and parameter["name"] in CLICKSEND_INTEGER_IDS:
                    parameter["schema"] = {"type": "integer"}
            ok: dict[str, Any] = ENVELOPE
            model = sdk6_models.get((method.upper(), compat_table.normalise("/v3" + path)))
            if model is not None:
                ok = {"allOf": [ENVELOPE, {"$ref": f"#/components/schemas/{model}"}]}
                schemas.update(_sdk6_schemas(model))
            responses: dict[str, Any] = {
                "200": {"description": "OK", "content": {"application/json": {"schema": ok}}}
            }
            for status, code in CLICKSEND_ERRORS.items():
                responses[status] = {
                    "description": code,
                    "content": {"application/json": {"schema": ENVELOPE}},
                }
            operation["responses"] = responses
            paths.setdefault("/v3" + path, {})[method] = operation
    spec["paths"] = paths
    spec["servers"] = [{"url": "/"}]
    spec["security"] = []
    bodies = spec["components"]["requestBodies"]

    def body_schema(path: str, method: str) -> dict[str, Any]:
        request_body = paths[path][method]["requestBody"]
        if "$ref" in request_body:
            request_body = copy.deepcopy(bodies[request_body["$ref"].rsplit("/", 1)[1]])
            paths[path][method]["requestBody"] = request_body
        schema: dict[str, Any] = request_body["content"]["application/json"]["schema"]
        return schema

    for path in ("/v3/sms/send", "/v3/sms/price"):
        message = _object(dict(body_schema(path, "post")["properties"]), ("body",))
        batch = _object({"messages": {"type": "array", "items": message}}, ("messages",))
        paths[path]["post"]["requestBody"] = _json_body(batch)
    person = _object({"email": STRING, "name": STRING}, ("email",))
    people = {"type": "array", "items": person}
    attachment = _object(
        {
            "content": STRING,
            "type": STRING,
            "filename": STRING,
            "disposition": STRING,
            "content_id": STRING,
        },
        ("content", "filename"),
    )
    sender = _object(
        {"email_address_id": {"anyOf": [INTEGER, STRING]}, "name": STRING},
        ("email_address_id",),
    )
    email = _object(
        {
            "to": people,
            "cc": people,
            "bcc": people,
            "from": sender,
            "subject": STRING,
            "body": STRING,
            "attachments": {"type": "array", "items": attachment},
            "schedule": NUMBER,
        },
        ("to", "from", "body"),
    )
    paths["/v3/email/send"]["post"]["requestBody"] = _json_body(email)
    paths["/v3/email/price"]["post"]["requestBody"] = _json_body(copy.deepcopy(email))
    for path, method in (
        ("/v3/account", "put"),
        ("/v3/subaccounts", "post"),
        ("/v3/subaccounts/{subaccount_id}", "put"),
        ("/v3/sms/templates", "post"),
        ("/v3/sms/templates/{template_id}", "put"),
        ("/v3/email/templates", "post"),
        ("/v3/email/templates/{template_id}", "put"),
        ("/v3/email/addresses", "post"),
        ("/v3/reseller", "put"),
        ("/v3/reseller/accounts/{client_user_id}", "put"),
    ):
        body_schema(path, method).pop("required", None)
    for path in ("/v3/sms/inbound-read", "/v3/sms/receipts-read"):
        schema = body_schema(path, "put")
        schema.pop("required", None)
        paths[path]["put"]["requestBody"]["required"] = False
    return spec


SENDGRID_ERRORS = _object(
    {"errors": {"type": "array", "items": _object({"message": STRING, "field": {}}, ("message",))}},
    ("errors",),
)


def mail_send_operation() -> dict[str, Any]:
    """SendGrid's `POST /v3/mail/send`, which the Email Activity spec does not contain,
    as SendGrid's v3 Mail Send reference documents it: at least one personalization with
    at least one `to`, a `from` (here the account's verified sender: the only address a
    Dovecote account may send from, SendGrid's Sender Identity rule), a subject and
    content unless a template gives them; 202 (queued, empty body), 200 in sandbox mode,
    errors as `{"errors": [{"message", "field"}]}`."""
    email = {"type": "string", "format": "email"}
    address = _object({"email": email, "name": STRING}, ("email",))
    addresses = {"type": "array", "items": address, "minItems": 1, "maxItems": 20}
    string_map = {"type": "object", "additionalProperties": STRING}
    switch = _object({"enable": {"type": "boolean"}})
    personalization = _object(
        {
            "to": addresses,
            "cc": addresses,
            "bcc": addresses,
            "subject": {"type": "string", "minLength": 1},
            "headers": string_map,
            "substitutions": string_map,
            "custom_args": string_map,
            "send_at": {"type": "integer", "minimum": 0},
        },
        ("to",),
    )
    body = _object(
        {
            "personalizations": {
                "type": "array",
                "items": personalization,
                "minItems": 1,
                "maxItems": 5,
            },
            "from": _object({"email": {"enum": [SENDER]}, "name": STRING}, ("email",)),
            "reply_to": address,
            "subject": {"type": "string", "minLength": 1},
            "content": {
                "type": "array",
                "minItems": 1,
                "items": _object(
                    {
                        "type": {"enum": ["text/plain", "text/html"]},
                        "value": {"type": "string", "minLength": 1},
                    },
                    ("type", "value"),
                ),
            },
            "categories": {
                "type": "array",
                "maxItems": 10,
                "uniqueItems": True,
                "items": {"type": "string", "minLength": 1, "maxLength": 255},
            },
            "custom_args": string_map,
            "headers": string_map,
            "send_at": {"type": "integer", "minimum": 0},
            "asm": _object(
                {
                    "group_id": {"type": "integer", "minimum": 1},
                    "groups_to_display": {
                        "type": "array",
                        "maxItems": 25,
                        "items": {"type": "integer", "minimum": 1},
                    },
                },
                ("group_id",),
            ),
            "mail_settings": _object({"sandbox_mode": switch}),
            "tracking_settings": _object({"click_tracking": switch, "open_tracking": switch}),
        },
        ("personalizations", "from", "subject", "content"),
    )
    errors = {"application/json": {"schema": SENDGRID_ERRORS}}
    return {
        "operationId": "SendMail",
        "requestBody": _json_body(body),
        "responses": {
            "202": {"description": "Queued"},
            "200": {"description": "Sandbox mode: valid, nothing sent"},
            **{
                status: {"description": status, "content": errors}
                for status in ("400", "403", "413", "429")
            },
        },
    }


def sendgrid_spec() -> dict[str, Any]:
    """SendGrid's Email Activity spec plus Mail Send (`mail_send_operation`), corrected:

    - `query` of `GET /v3/messages` is declared required, yet SendGrid lists the most
      recent messages without it (sendgrid/sendgrid-python#1082 shows such a call), as
      Dovecote does.
    - An event lists `bounce_type`, `http_user_agent` and `mx_server` as required, yet each
      describes one kind of event only (bounces; opens and clicks; deliveries), as its own
      description says of `bounce_type` ("to distinguish between types of bounces"): a
      `processed` event has none of them. Only `event_name` and `processed` are required.
    - `asm_group_id` (an integer ≥ 1) and `api_key_id` (at least 3 characters) are
      required, yet a message sent without an unsubscribe group has no group id, and one
      sent without an API key (a password login, Dovecote's own mail) has no key id: there
      is no value of their types for "none", so they are absent then.
    - The security scheme is the harness's: every request carries the owner's Bearer key,
      and each operation is called once without it (a 401).
    """
    spec = _load("sendgrid-email-activity.openapi.yaml")
    spec["servers"] = [{"url": "/"}]
    spec["security"] = []
    spec["paths"]["/v3/messages"]["get"]["parameters"][0]["required"] = False
    detail = spec["paths"]["/v3/messages/{msg_id}"]["get"]["responses"]["200"]["content"][
        "application/json"
    ]["schema"]
    detail["properties"]["events"]["items"]["required"] = ["event_name", "processed"]
    detail["required"] = [
        name for name in detail["required"] if name not in ("asm_group_id", "api_key_id")
    ]
    spec["paths"]["/v3/mail/send"] = {"post": mail_send_operation()}
    return spec


def paypi_spec() -> dict[str, Any]:
    """PayPI's spec as tests/apis/test_emailverify.py corrects it (see `adapted_spec`
    there), without its security scheme: the harness sends the owner's Bearer key."""
    spec = paypi_adapted_spec()
    spec["security"] = []
    return spec


# --- the run ------------------------------------------------------------------------------


@dataclass
class Tally:
    requests: Counter[str] = field(default_factory=Counter)
    statuses: dict[str, Counter[int]] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    known_defects: Counter[str] = field(default_factory=Counter)  # met and stepped around

    def record(self, key: str, status: int) -> None:
        self.requests[key] += 1
        self.statuses.setdefault(key, Counter())[status] += 1


@dataclass
class Owner:
    """The owner's credentials as the run changes them: a `PUT /v3/account` may rename
    the owner and a regen-api-key of the main user replaces its key, as a client's would.
    A rename must leave the owner able to log in with the new name."""

    session: requests.Session
    base_url: str
    tally: Tally
    username: str = OWNER
    key: str = OWNER_KEY

    def basic(self) -> dict[str, str]:
        return self._basic(self.username)

    def _basic(self, username: str) -> dict[str, str]:
        token = base64.b64encode(f"{username}:{self.key}".encode()).decode()
        return {"Authorization": f"Basic {token}"}

    def bearer(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}

    def follow(self, method: str, path: str, response: requests.Response) -> None:
        if response.status_code != 200:
            return
        if (method, path) == ("PUT", "/v3/account"):
            username = response.json()["data"]["username"]
            if username != self.username:
                self._renamed(username)
        elif path.endswith("/regen-api-key") and response.json()["data"]["is_main"] == 1:
            self.key = response.json()["data"]["api_key"]

    def _renamed(self, username: str) -> None:
        url = f"{self.base_url}/v3/account"
        if self.session.get(url, headers=self._basic(username)).status_code == 200:
            self.username = username
            return
        self.tally.failures.append(f"PUT /v3/account: renamed to {username!r}, cannot log in")
        # The key still works as a Bearer token: take the old name back and go on.
        restored = self.session.put(url, headers=self.bearer(), json={"username": self.username})
        assert restored.status_code == 200, restored.text


def has_inputs(operation: Any) -> bool:
    """Whether negative mode can violate anything: a body, or a parameter that is not a
    free string in the path (schemathesis cannot make a path segment "not a string")."""
    raw = operation.definition.raw
    parameters = [*operation.path_parameters, *operation.query, *operation.headers]
    return "requestBody" in raw or any(
        p.location.value != "path" or p.definition.get("schema", {}).get("type") != "string"
        for p in parameters
    )


def fuzz(
    operation: Any,
    mode: Any,
    base_url: str,
    session: requests.Session,
    credentials: Callable[[], dict[str, str]],
    owner: Owner,
    tally: Tally,
    examples: int,
) -> None:
    import schemathesis
    from hypothesis import HealthCheck, given
    from hypothesis import settings as hypothesis_settings
    from schemathesis.checks import (
        content_type_conformance,
        negative_data_rejection,
        not_a_server_error,
        response_schema_conformance,
        status_code_conformance,
    )

    method, path = operation.method.upper(), operation.path
    key = f"{method} {path} {mode.value}"
    checks = [
        not_a_server_error,
        status_code_conformance,
        content_type_conformance,
        response_schema_conformance,
    ]
    lifted = (method, path) in ACCEPTED_NEGATIVE or (method, path) in KNOWN_DEFECTS
    if mode is schemathesis.GenerationMode.NEGATIVE and not lifted:
        checks.append(negative_data_rejection)

    @hypothesis_settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        response = case.call(base_url=base_url, session=session, headers=credentials())
        tally.record(key, response.status_code)
        owner.follow(method, path, response)
        case.validate_response(response, checks=checks)

    started = time.monotonic()
    try:
        run()
    # Every operation is run and every failure reported at the end (schemathesis raises a
    # BaseExceptionGroup, which `except Exception` would not catch).
    except (Exception, BaseExceptionGroup) as exc:
        tally.failures.append(f"{key}:\n{exc}")
    tally.seconds[key] = tally.seconds.get(key, 0.0) + time.monotonic() - started


def examples_for(operation: Any) -> int:
    """Operations without any input have one request to make; generating a nested body
    costs several times a flat one, so those few get fewer examples and the rest more."""
    parameters = [*operation.path_parameters, *operation.query, *operation.headers]
    if "requestBody" not in operation.definition.raw and not parameters:
        return 1
    return SLOW_TO_GENERATE.get((operation.method.upper(), operation.path), EXAMPLES)


def call_without_credentials(client: httpx.Client, operation: Any) -> httpx.Response:
    client.cookies.clear()  # no session an earlier answer may have set: no credentials at all
    path = re.sub(r"\{[^}]+\}", "1", operation.path)
    body: dict[str, Any] | None = {} if "requestBody" in operation.definition.raw else None
    return client.request(operation.method.upper(), path, json=body)


@functools.cache
def all_operations() -> tuple[tuple[str, Any], ...]:
    """(family, schemathesis operation) of every operation of the three adapted
    references, in a fixed order. Built once per process (~2 s: three specs, SDK 6.0.2's
    models read from its source) and shared by the shards the process runs, each
    fuzzing its own operations."""
    import schemathesis
    from schemathesis.core.result import Ok

    families = (
        ("PayPI", paypi_spec()),
        ("SendGrid", sendgrid_spec()),
        ("ClickSend", clicksend_spec(compat_table.app_routes())),
    )
    found: list[tuple[str, Any]] = []
    for family, spec in families:
        for result in schemathesis.openapi.from_dict(spec).get_all_operations():
            assert isinstance(result, Ok), result
            found.append((family, result.ok()))
    return tuple(found)


@pytest.fixture
def contract_settings(sqlite_template: Path, tmp_path: Path) -> Settings:
    """SQLite only (see the module's docstring), with limits roomy enough that no
    generated request meets a 429: the limits have tests of their own."""
    target = tmp_path / "contract.db"
    target.write_bytes(sqlite_template.read_bytes())
    return Settings(
        database_url=f"sqlite+aiosqlite:///{target}",
        owner_username=OWNER,
        owner_password=OWNER_PASSWORD,
        owner_api_key=OWNER_KEY,
        owner_balance="100000.00",
        worker_enabled=False,
        sandbox_receipt_delay=0,
        rate_limit="100000/second",
        auth_failure_limit="100000/second",
        activity_rate_limit="100000/second",
        activity_download_rate_limit="100000/second",
        activity_export_dir=str(tmp_path / "exports"),
        otp_sends_per_address_per_hour=100_000,
        otp_checks_per_account_per_minute=100_000,
    )


def prepare(settings: Settings) -> None:
    """What the generated requests should find: Email Activity's extended history (CSV
    downloads), a verified sender for mail/send, and Email Activity messages of every
    kind (tests/activity_rows.py)."""

    async def run() -> None:
        engine = create_engine(settings.database_url)
        try:
            async with engine.begin() as conn:
                row = (
                    await conn.execute(
                        sa.select(users.c.id, users.c.account_id).where(users.c.username == OWNER)
                    )
                ).one()
                await conn.execute(
                    accounts.update()
                    .where(accounts.c.id == row.account_id)
                    .values(settings={"email_activity_extended": True})
                )
            await add_address(engine, row.account_id, row.id, SENDER)
            # Email Activity rows of every kind (bounces, deferrals, opens, clicks, …).
            world = await make_world(engine, OWNER_KEY)
            await insert_messages(engine, world, time.time())
        finally:
            await engine.dispose()

    asyncio.run(run())


def seed(base_url: str, owner: Owner, settings: Settings) -> str:
    """Some of everything through the API (so lists and ids have something to find),
    delivered by one dispatcher pass; returns a SendGrid msg_id."""
    with httpx.Client(base_url=base_url) as http:
        sent = http.post(
            "/v3/mail/send",
            headers=owner.bearer(),
            json={
                "personalizations": [{"to": [{"email": "ann@example.net"}]}],
                "from": {"email": SENDER},
                "subject": "Seed",
                "content": [{"type": "text/plain", "value": "Hello"}],
                "categories": ["seed"],
            },
        )
        assert sent.status_code == 202, sent.text
        for path, body in (
            ("/v3/sms/send", {"messages": [{"to": "+12025550100", "body": "Seed"}]}),
            ("/v3/sms/templates", {"template_name": "Seed", "body": "Hello"}),
        ):
            response = http.post(path, headers=owner.basic(), json=body)
            assert response.status_code == 200, response.text
        response = http.post("/sendCode", headers=owner.bearer(), json={"email": "bob@example.net"})
        assert response.status_code == 200, response.text
    asyncio.run(_deliver(settings))
    msg_id: str = sent.headers["X-Message-Id"]
    return msg_id


async def _deliver(settings: Settings) -> None:
    engine = create_engine(settings.database_url)
    try:
        await deliver(engine, settings)
    finally:
        await engine.dispose()


@pytest.fixture
def contract_server(contract_settings: Settings) -> Iterator[LiveServer]:
    with LiveServer(contract_settings) as server:
        prepare(contract_settings)  # the owner exists once the server has started
        yield server


@pytest.mark.parametrize("shard", range(SHARDS))
def test_the_server_conforms_to_its_three_contracts(
    shard: int, contract_server: LiveServer, contract_settings: Settings
) -> None:
    import schemathesis

    tally = Tally()
    session = requests.Session()
    owner = Owner(session, contract_server.url, tally)
    msg_id = seed(contract_server.url, owner, contract_settings)
    credentials_of = {"PayPI": owner.bearer, "SendGrid": owner.bearer, "ClickSend": owner.basic}
    everything = all_operations()
    operations = everything[shard::SHARDS]
    started = time.monotonic()
    with session:
        for family, operation in operations:
            credentials = credentials_of[family]
            modes = [schemathesis.GenerationMode.POSITIVE]
            if has_inputs(operation):
                modes.append(schemathesis.GenerationMode.NEGATIVE)
            for mode in modes:
                fuzz(
                    operation,
                    mode,
                    contract_server.url,
                    session,
                    credentials,
                    owner,
                    tally,
                    examples_for(operation),
                )
    elapsed = time.monotonic() - started
    total = sum(tally.requests.values())
    negative = sum(n for key, n in tally.requests.items() if key.endswith(" negative"))
    print(
        f"\ncontract run, shard {shard + 1} of {SHARDS}: {len(operations)} of "
        f"{len(everything)} operations, {total} requests "
        f"({total - negative} positive, {negative} negative), {elapsed:.1f} s"
    )
    for defect, times in tally.known_defects.items():
        print(f"known defect met {times} times: {defect}")

    for key, seconds in sorted(tally.seconds.items(), key=lambda item: -item[1])[:10]:
        print(
            f"{seconds:6.2f} s {tally.requests[key]:4d} {key} {dict(tally.statuses.get(key, {}))}"
        )
    assert not tally.failures, "\n\n".join(tally.failures)
    assert total >= MIN_REQUESTS // SHARDS
    # Every operation was called, and each with inputs in negative mode too.
    called = {key.rsplit(" ", 1)[0] for key in tally.requests}
    assert called == {f"{op.method.upper()} {op.path}" for _, op in operations}
    negated = {key.rsplit(" ", 1)[0] for key in tally.requests if key.endswith(" negative")}
    assert negated == {f"{op.method.upper()} {op.path}" for _, op in operations if has_inputs(op)}
    # And every operation but the public ones refuses a caller without credentials.
    with httpx.Client(base_url=contract_server.url) as anonymous:
        for family, operation in operations:
            response = call_without_credentials(anonymous, operation)
            if (operation.method.upper(), operation.path) in PUBLIC:
                assert response.status_code != 401, (family, operation.path, response.text)
                continue
            assert response.status_code == 401, (family, operation.path, response.text)
    if shard == 0:
        _check_messages(contract_server.url, owner, [msg_id, *sorted(VISIBLE)])


def _check_messages(base_url: str, owner: Owner, msg_ids: list[str]) -> None:
    """Real messages' details against the adapted schema (generated ids find none): the
    one sent through mail/send and delivered, and those of tests/activity_rows.py."""
    import schemathesis
    from schemathesis.checks import response_schema_conformance, status_code_conformance

    schema = schemathesis.openapi.from_dict(sendgrid_spec())
    operation = schema["/v3/messages/{msg_id}"]["GET"]
    for msg_id in msg_ids:
        case = operation.Case(path_parameters={"msg_id": msg_id})
        response = case.call(base_url=base_url, headers=owner.bearer())
        assert response.status_code == 200, (msg_id, response.text)
        case.validate_response(
            response, checks=[status_code_conformance, response_schema_conformance]
        )
