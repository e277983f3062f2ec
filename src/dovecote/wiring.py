"""The wiring table: every channel, transport, event sink, periodic job and router.

This is the one place that names them all. The app factory and the worker get
everything from here; nothing below `apis` imports this module, and nothing in
`pipeline` names a channel. Adding a channel is a folder (`channels/<name>/` with its
`Channel` spec, and its routers in `apis/`) plus one line in each table it needs.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from types import ModuleType

from fastapi import APIRouter, FastAPI
from starlette.routing import BaseRoute

from dovecote.accounts.credential_cache import CredentialCache
from dovecote.activity import export as activity_export
from dovecote.activity import retention
from dovecote.activity.sink import email_activity_sink
from dovecote.apis import account_options as dovecote_account_options
from dovecote.apis import (
    emailverify,
    files,
    health,
    metrics,
    providers,
    routing,
    sandbox,
    sandbox_media,
    sandbox_post,
    sandbox_rules,
    short_links,
    tracking,
    webhooks,
)
from dovecote.apis import statistics as dovecote_statistics
from dovecote.apis.clicksend import (
    account,
    automations,
    contacts,
    countries,
    delivery_issues,
    email,
    email_addresses,
    email_campaigns,
    email_receipts,
    email_sms,
    email_template_images,
    email_templates,
    fax,
    fax_history,
    fax_receipts,
    link_tracking,
    list_imports,
    lists,
    master_templates,
    mms,
    mms_campaigns,
    mms_history,
    mms_receipts,
    numbers,
    post_detect,
    post_direct_mail,
    post_letters,
    post_postcards,
    post_return_addresses,
    recharge,
    recovery,
    reference,
    referrals,
    reseller,
    sdk_download,
    senders,
    signup,
    sms,
    sms_campaigns,
    sms_history,
    sms_inbound,
    sms_receipts,
    sms_templates,
    subaccounts,
    uploads,
    voice,
    voice_history,
    voice_receipts,
)
from dovecote.apis.clicksend import statistics as clicksend_statistics
from dovecote.apis.clicksend import usage as account_usage
from dovecote.apis.sendgrid import activity, mail_send
from dovecote.apis.sendgrid import templates as sendgrid_templates
from dovecote.automations import actions as automation_actions
from dovecote.automations import webhook_sender
from dovecote.automations.sink import automation_sink
from dovecote.campaigns import email_fanout as email_campaign_fanout
from dovecote.campaigns import fanout as sms_campaign_fanout
from dovecote.channels.email.channel import EMAIL
from dovecote.channels.email.system_mail import SystemMailer
from dovecote.channels.fax.channel import FAX
from dovecote.channels.mms.channel import MMS
from dovecote.channels.post.channel import LETTER, POSTCARD
from dovecote.channels.sms.channel import SMS
from dovecote.channels.voice.channel import VOICE
from dovecote.contacts import import_job as contact_imports
from dovecote.core import security
from dovecote.dashboard import routes as dashboard
from dovecote.files.store import open_store
from dovecote.numbers import renewals
from dovecote.pipeline import changes_pg
from dovecote.pipeline import retention as event_retention
from dovecote.pipeline import uploads as upload_expiry
from dovecote.pipeline.channel import Channel
from dovecote.pipeline.dispatcher import Dispatcher
from dovecote.pipeline.events import EventLog, EventSink
from dovecote.pipeline.jobs import JobContext, JobFactory
from dovecote.pipeline.metrics import Metrics
from dovecote.pipeline.pricing import PriceBook
from dovecote.pipeline.routing import table as routing_table
from dovecote.pipeline.routing.transport import Router
from dovecote.pipeline.transports import registry
from dovecote.pipeline.transports.http import receipts as http_receipts
from dovecote.pipeline.worker import Worker
from dovecote.runtime import Runtime, rate_limiter
from dovecote.settings import Settings
from dovecote.statistics.sink import statistics_sink
from dovecote.storage.db import create_engine, create_read_engine

# Channels the dispatcher delivers (EmailVerify sends its codes as email).
CHANNELS: tuple[Channel, ...] = (SMS, EMAIL, MMS, VOICE, FAX, LETTER, POSTCARD)

# Transport name → `module:Class`, imported when a channel first uses it.
TRANSPORTS: dict[str, str] = {
    "sandbox": "dovecote.pipeline.transports.sandbox:SandboxTransport",
    "email-sandbox": "dovecote.pipeline.transports.email_sandbox:EmailSandboxTransport",
    "smtp": "dovecote.pipeline.transports.smtp:SmtpTransport",
    "smpp": "dovecote.pipeline.transports.smpp.transport:SmppTransport",
    "http": "dovecote.pipeline.transports.http.transport:HttpTransport",
    "voice-sandbox": "dovecote.channels.voice.sandbox:VoiceSandboxTransport",
    "fax-sandbox": "dovecote.channels.fax.sandbox:FaxSandboxTransport",
    "post-sandbox": "dovecote.channels.post.sandbox:PostSandboxTransport",
}

# Run, in this order, in the transaction of every event written.
SINKS: tuple[EventSink, ...] = (email_activity_sink, automation_sink(CHANNELS), statistics_sink)

# Periodic jobs every worker runs.
JOBS: tuple[JobFactory, ...] = (
    retention.job,
    activity_export.job,
    event_retention.job,
    webhook_sender.job,
    webhook_sender.retention_job,
    automation_actions.job,
    upload_expiry.job,
    renewals.job,
    contact_imports.job,
    sms_campaign_fanout.job,
    email_campaign_fanout.job,
    http_receipts.job(CHANNELS),
)

# Routers. Literal paths (`/sms/templates`, `/sms/receipts-read`) are registered before
# the parameterised `/sms/{message_id}/cancel`, so they are never shadowed.
ROOT: tuple[ModuleType, ...] = (
    health,
    metrics,
    sandbox,
    sandbox_media,
    sandbox_post,
    sandbox_rules,
    tracking,
    short_links,
    emailverify,
    webhooks,
    files,
    dovecote_statistics,
    routing,
    providers,
    dovecote_account_options,
    # The web console: `/`, `/login`, `/messages`, … (no API path starts like these).
    dashboard,
)
SENDGRID: tuple[ModuleType, ...] = (activity, mail_send, sendgrid_templates)
CLICKSEND: tuple[ModuleType, ...] = (
    account,
    account_usage,
    signup,
    recovery,
    countries,
    subaccounts,
    reference,
    sms_templates,
    sms_receipts,
    sms_inbound,
    sms_history,
    email_sms,
    sms,
    email_addresses,
    email_receipts,
    email_template_images,
    email_templates,
    master_templates,
    email,
    automations,
    delivery_issues,
    mms_receipts,
    mms_history,
    mms,
    uploads,
    numbers,
    senders,
    clicksend_statistics,
    lists,
    list_imports,
    contacts,
    sms_campaigns,
    email_campaigns,
    # Literal paths first: `/voice/lang`, `/voice/receipts-read`, `/voice/cancel-all`
    # before `/voice/{message_id}/cancel`.
    voice_receipts,
    voice_history,
    voice,
    fax_receipts,
    fax_history,
    fax,
    mms_campaigns,
    link_tracking,
    post_return_addresses,
    post_letters,
    post_postcards,
    post_detect,
    post_direct_mail,
    reseller,
    referrals,
    sdk_download,
    recharge,
)


def mount(app: FastAPI) -> None:
    app.router.routes.extend(_included_routers())


@functools.cache
def _included_routers() -> tuple[BaseRoute, ...]:
    """Every router included once per process, whatever the number of apps.

    FastAPI works out what a route needs (its parameters' validators, its dependencies:
    ~300 operations' signatures) on the first request that passes the route, and keeps
    it on the inclusion. A new inclusion per app paid that again in every app: 0.06–0.2 s
    on an app's first request, 0.4–1.4 s for one that scans every route (a 404), on the
    loaded 2-core machine — per test, since each test starts its own app. The inclusions depend on no setting,
    so every app of the process shares them. The price: `app.dependency_overrides`
    does not reach these routes (nothing uses it), and a router's start-up handlers
    would not run with the app's (no router has any; refused below).
    """
    # Every router straight onto the app (no intermediate `/v3` router): each level of
    # nesting is one more linear scan of routes per request.
    included = APIRouter()
    for module in ROOT:
        included.include_router(module.router)
    for module in (*SENDGRID, *CLICKSEND):
        included.include_router(module.router, prefix="/v3")
    if included.on_startup or included.on_shutdown:
        raise RuntimeError("a router has start-up or shut-down handlers: use the app's lifespan")
    return tuple(included.routes)


def build_runtime(
    settings: Settings, *, sinks: Sequence[EventSink] = SINKS, metrics: Metrics | None = None
) -> Runtime:
    security.configure_password_hashing(
        time_cost=settings.password_hash_time_cost,
        memory_kib=settings.password_hash_memory_kib,
        parallelism=settings.password_hash_parallelism,
    )
    limiter = rate_limiter(settings)
    engine = create_engine(
        settings.database_url,
        pool_size=settings.database_pool_size,
        max_overflow=settings.database_max_overflow,
    )
    # Last of the sinks: it only notes what changed, for live pages after the commit.
    changes = changes_pg.for_engine(engine)
    events = EventLog((*sinks, changes.sink))
    # Sends price by route from this cache of the routing table (no query while fresh).
    routing_table.shared(engine, settings.routing_refresh_seconds)
    return Runtime(
        settings=settings,
        engine=engine,
        read_engine=create_read_engine(settings.database_url, engine),
        limiter=limiter,
        prices=PriceBook.load(settings.prices_file),
        credentials=CredentialCache(settings.auth_cache_seconds),
        events=events,
        metrics=metrics or Metrics(),
        system_mail=SystemMailer(settings, events, limiter),
        files=open_store(settings),
        changes=changes,
    )


def build_worker(
    runtime: Runtime,
    *,
    channels: Sequence[Channel] = CHANNELS,
    transports: dict[str, str] = TRANSPORTS,
    jobs: Sequence[JobFactory] = JOBS,
) -> Worker:
    """A worker for `runtime`; tests pass their own tables (a fake channel, say)."""
    settings = runtime.settings
    # Every channel goes through the router, which keeps each channel's configured
    # transport for messages no route (in the database) matches.
    router = Router(
        runtime.engine,
        settings,
        registry.build(channels, transports, settings, runtime.files),
        transports,
        runtime.files,
        runtime.metrics,
    )
    dispatcher = Dispatcher(
        runtime.engine,
        settings,
        {channel.name: channel for channel in channels},
        {channel.name: router for channel in channels},
        runtime.events,
        runtime.metrics,
    )
    return Worker(dispatcher, [job(settings) for job in jobs], job_context(runtime))


def job_context(runtime: Runtime, settings: Settings | None = None) -> JobContext:
    """What `runtime`'s periodic jobs are handed; tests pass other `settings` (a
    retention window, say) to run one job under them."""
    return JobContext(
        runtime.engine,
        runtime.settings if settings is None else settings,
        runtime.events,
        runtime.system_mail,
        runtime.files,
    )
