"""Every Dovecote setting, read from `DOVECOTE_*` environment variables.

Built by the app factory and the CLI, never at import time, so tests pass their
own `Settings(...)` instead of patching globals.
"""

from __future__ import annotations

from typing import Literal

from pydantic import AliasChoices, Field, PositiveInt, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_PUBLIC_URL = "http://127.0.0.1:8080"
DEV_SECRET = "dovecote-development-secret-change-me"  # noqa: S105 - refused outside development


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DOVECOTE_", extra="ignore")

    environment: Literal["development", "production"] = "development"
    database_url: str = "sqlite+aiosqlite:///./dovecote.db"
    # PostgreSQL: connections each process keeps open, and how many more it may open
    # while more requests read at once; those close when returned, so a process that
    # often runs past the pool pays a new backend per request (docs/scaling.md).
    database_pool_size: int = Field(10, ge=1)
    database_max_overflow: int = Field(20, ge=0)
    # Signs export links and tracking URLs; must be set to something private in production.
    secret_key: str = DEV_SECRET
    # The key before the last change: only opens connector secrets sealed with it
    # (start-up re-seals them with `secret_key`; then this can be unset). docs/routing.md
    secret_key_previous: str | None = None
    # Base of links Dovecote hands out. Unset: links answered to a request use that
    # request's own base URL, and links that are mailed (verification, CSV downloads,
    # tracking) use `dovecote serve`'s --host/--port — never a Host header, which the
    # caller controls and could point a victim's verification link at its own server.
    public_url: str | None = None

    # Owner account created on the first start with an empty database.
    owner_username: str | None = None
    owner_password: str | None = None
    owner_api_key: str | None = None
    owner_balance: str = "10.00"
    owner_currency: str = "USD"
    owner_country: str = "US"
    # Who takes recharge payments (billing/payments.py PROVIDERS); the sandbox charges nothing.
    payment_provider: Literal["sandbox"] = "sandbox"

    # The spec's Testing section accounts (`nocredit`, `notactive`, `banned`).
    test_credentials: bool = True

    cors_origins: list[str] = Field(default_factory=list)
    # `limits` rate-limit string per account; Redis makes the limit shared by all processes.
    rate_limit: str = "100/second"
    # argon2id cost of new password hashes (argon2-cffi's defaults; OWASP's minimum is
    # t=2 with 19 MiB). Each sign-in with a password pays it once (~170 ms at these).
    password_hash_time_cost: int = Field(default=3, ge=1)
    password_hash_memory_kib: int = Field(default=65536, ge=32)  # ≥ 8 KiB a lane
    # Lanes computed in parallel, each in a thread of its own: at a low memory cost the
    # threads cost more than the hashing (4 lanes at 32 KiB: ~6 ms, 1 lane: 0.03 ms).
    password_hash_parallelism: int = Field(default=4, ge=1, le=32)
    redis_url: str | None = None
    max_body_bytes: int = 2_000_000
    # How long a verified Authorization header is remembered (0 turns the cache off).
    auth_cache_seconds: float = 30.0
    # Failed logins allowed per client address before 429 (`limits` syntax).
    auth_failure_limit: str = "30/minute"

    # Delivery queue.
    worker_enabled: bool = True
    worker_batch_size: int = 500
    worker_poll_interval: float = 0.2
    worker_lease_seconds: float = 60.0
    # A campaign fan-out's lease (renewed after every batch of contacts): how long a
    # campaign whose worker died waits before another worker resumes it.
    campaign_lease_seconds: float = Field(120.0, gt=0)
    worker_max_attempts: int = 5
    worker_backoff_base: float = 2.0
    # Seconds after sending before a message whose receipt cannot be had expires.
    worker_receipt_timeout: float = Field(72 * 3600, gt=0)
    # Days each channel's events are kept (email's follow the Email Activity window).
    retention_days: dict[str, PositiveInt] = Field(
        default_factory=lambda: {"sms": 400, "mms": 400, "verify": 90}
    )
    # Days the sandbox's renders (voice WAVs, fax TIFFs and pages, letter and postcard
    # proofs) are kept after their message was accepted; the message itself stays.
    render_retention_days: PositiveInt = 30
    # Days an SMPP delivery no message or account took (`smpp_deliveries` rows left
    # unmatched or unrouted for the operator) is kept; pending ones are never purged.
    smpp_delivery_retention_days: PositiveInt = 30

    # SMS composition.
    # Email-to-SMS: an SMTP listener in `serve` (off unless a port is set) accepting mail to
    # <number>@<this domain> from addresses accounts allowed (`/v3/sms/email-sms`).
    email_sms_domain: str = "sms.dovecote.localhost"
    email_sms_smtp_host: str = "127.0.0.1"
    email_sms_smtp_port: int | None = Field(None, ge=0, le=65535)
    # Alpha tags an account requests are approved at once; false: they wait for the
    # operator (`dovecote numbers alpha-tag ID approved`).
    alpha_tags_auto_approve: bool = True
    # Single sends through one writer task, one transaction per batch (storage/group_commit.py),
    # each batch's rows written once (storage/deferred.py): ~1.8x the req/s of sending alone on
    # SQLite, far fewer lock waits on PostgreSQL (bench/README.md, issue 17). Off: each send
    # in a transaction of its own.
    sms_group_commit: bool = True
    sms_throttle_window: int = 60  # seconds; same body to same recipient inside it → THROTTLED
    prices_file: str | None = None

    # Sandbox transport.
    sandbox_receipt_delay: float = 1.0
    # Scripted outcomes: "prefix=outcome" rules, see docs/sandbox.md.
    sandbox_rules: list[str] = Field(default_factory=list)
    sandbox_auto_replies: list[str] = Field(default_factory=list)
    # How often a worker checks whether an account's stored rules changed (dashboard,
    # /dovecote/sandbox/rules): one indexed read per interval, none per message.
    sandbox_refresh_seconds: float = Field(1.0, ge=0)

    export_link_ttl: int = 3 * 24 * 3600
    # Every fetch the server makes for an account (webhooks, test receipts and inbound;
    # later file_url, media_file, import URLs) may reach loopback and private networks
    # (local test servers). Turn off in production: otherwise any caller can make
    # Dovecote fetch inside your network. DOVECOTE_WEBHOOK_ALLOW_PRIVATE is its old name.
    fetch_allow_private: bool = Field(
        True,
        validation_alias=AliasChoices(
            "fetch_allow_private",
            "DOVECOTE_FETCH_ALLOW_PRIVATE",
            "webhook_allow_private",
            "DOVECOTE_WEBHOOK_ALLOW_PRIVATE",
        ),
    )
    # Prometheus metrics at /metrics, for `Authorization: Bearer <this token>` only; unset:
    # no /metrics route answers (404) and requests are not timed.
    metrics_token: str | None = None
    # A URL automation rule is paused (with its reason) after this many of its webhook
    # deliveries in a row were dead-lettered (each after ~24 h of retries).
    webhook_pause_after: PositiveInt = 5
    # Seconds a server-side fetch may wait for each step; the whole call gets twice this.
    fetch_timeout: float = Field(5.0, gt=0, le=60)

    # Email Activity (SendGrid): days of history an account sees and keeps, without and
    # with the "extended history" option (`accounts.settings.email_activity_extended`).
    activity_history_days: int = 2
    activity_extended_days: int = 60
    # SendGrid's documented limit for the Email Activity API, per account.
    activity_rate_limit: str = "6/minute"
    activity_retention_interval: float = 3600.0  # seconds between retention purges
    # CSV downloads: SendGrid allows one request per 12 hours.
    activity_download_rate_limit: str = "1 per 12 hours"
    # Where Dovecote kept the CSVs before the file store: read and purged, never written.
    activity_export_dir: str = "exports/activity"
    # Stored files (uploads, converted media, sandbox renders): a local directory, shared
    # when several machines run Dovecote.
    files_dir: str = "data/files"
    # `s3://bucket/prefix`: keep stored files in an S3-compatible bucket instead of
    # files_dir. Endpoint unset: AWS; credentials unset: boto3's chain (AWS_* variables).
    storage_url: str | None = Field(None, pattern=r"^s3://[^/]+(/.*)?$")
    s3_endpoint_url: str | None = None
    s3_region: str | None = None
    s3_access_key_id: str | None = None
    s3_secret_access_key: str | None = None
    # Seconds an upload (`POST /v3/uploads`) and its link stay; ClickSend's example: 7 days.
    upload_ttl: int = Field(7 * 24 * 3600, ge=60)
    # The largest contact-import file (CSV or XLSX) fetched from a `file_url`.
    contacts_import_max_bytes: PositiveInt = 200_000_000

    # Email. System mail (sender verification, EmailVerify codes) comes from this address.
    system_email_from: str = "no-reply@dovecote.localhost"
    # Abuse controls on system mail an account triggers (export links the worker mails are
    # exempt): sender-verification emails one account may have sent to one address, and
    # all system mail (verification, one-time codes) one account may trigger, per hour.
    system_mail_per_address_per_hour: int = Field(5, ge=1)
    system_mail_per_account_per_hour: int = Field(100, ge=1)
    # Seconds a sender-verification (activation) token stays valid after it is mailed.
    email_address_token_ttl: int = Field(24 * 3600, ge=1)
    # Decoded bytes of all attachments of one email; base64 adds a third on the wire, so
    # keep it under max_body_bytes * 3/4 or the body limit answers first.
    email_max_attachment_bytes: int = 1_000_000
    # SendGrid mail/send: all the emails of one request together, substitutions applied
    # and attachments included (each email is also held to SendGrid's 30 MB).
    mail_send_max_total_bytes: int = Field(60 * 1024 * 1024, ge=1)
    # Open pixels and click redirects stay valid this long (the link carries its expiry).
    email_tracking_ttl: int = 365 * 24 * 3600
    email_transport: Literal["sandbox", "smtp"] = "sandbox"
    # Channel → transport name (`wiring.TRANSPORTS`), as JSON: {"sms": "sandbox"}.
    # "sandbox" means the channel's own sandbox; see `transport_for`.
    transports: dict[str, str] = Field(default_factory=dict)
    smtp_host: str = "localhost"
    smtp_port: int | None = None  # None: 465 for implicit TLS, 587 for STARTTLS, else 25
    smtp_tls: Literal["none", "starttls", "implicit"] = "starttls"
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_tls_verify: bool = True
    smtp_ca_file: str | None = None  # extra CA bundle, e.g. a private relay's certificate
    smtp_timeout: float = 30.0
    # Parallel connections per batch: one connection waits a round trip per SMTP command.
    smtp_connections: int = 4
    smtp_local_hostname: str | None = None  # EHLO name; None: this machine's FQDN

    # SMPP 3.4 connector (transport "smpp", see docs/delivery.md): transceiver binds
    # opened when the worker starts, closed when it stops.
    smpp_host: str = "127.0.0.1"
    smpp_port: int = 2775
    smpp_system_id: str = Field("", max_length=15)
    smpp_password: str = Field("", max_length=8)
    smpp_system_type: str = Field("", max_length=12)
    smpp_binds: int = Field(1, ge=1, le=32)  # parallel binds to the SMSC
    smpp_window: int = Field(16, ge=1, le=1000)  # outstanding submit_sm per bind
    smpp_throughput: float = Field(0.0, ge=0)  # submit_sm per second, all binds; 0: no cap
    smpp_enquire_link_interval: float = Field(30.0, gt=0)
    smpp_response_timeout: float = Field(10.0, gt=0)  # a bind or submit_sm answer
    smpp_bind_wait: float = Field(5.0, ge=0)  # a batch waits this long for a bind to be up
    smpp_reconnect_min: float = Field(0.5, gt=0)  # backoff doubles from this …
    smpp_reconnect_max: float = Field(30.0, gt=0)  # … up to this
    smpp_throttle_pause: float = Field(1.0, ge=0)  # after ESME_RTHROTTLED / ESME_RMSGQFUL
    smpp_long_messages: Literal["udh", "payload"] = "udh"
    smpp_gsm_packed: bool = False  # GSM 03.38 packed 7-bit (most SMSCs want unpacked)
    # Inbound SMS (MO) go to this account until numbers exist to say whose they are.
    smpp_mo_account: int | None = None
    # A receipt that matches no message yet is retried this long, then kept as unmatched.
    smpp_receipt_hold: float = Field(600.0, ge=0)
    smpp_receipt_retry: float = Field(1.0, gt=0)

    # Routing (connectors and routes in the database, docs/delivery.md). A worker rereads
    # the routing version and every connector's shared health at most this often; a
    # change takes effect within it.
    routing_refresh_seconds: float = Field(1.0, ge=0)
    # Failed hand-overs in a row (all workers together, `connector_health`) that put a
    # connector down, and for how long every worker skips it.
    routing_failure_threshold: int = Field(3, ge=1)
    routing_cooldown_seconds: float = Field(30.0, ge=0)

    # EmailVerify one-time codes; an account's `settings` may override the first four and
    # the brand (see docs/emailverify.md).
    otp_code_length: int = Field(6, ge=4, le=10)
    otp_ttl_seconds: int = Field(600, ge=1)
    # PayPI's documented limit; a new code resets the count.
    otp_max_attempts: int = Field(20, ge=1)
    # Abuse controls: codes mailed to one address by one account, and checks by one account.
    otp_sends_per_address_per_hour: int = Field(10, ge=1)
    otp_checks_per_account_per_minute: int = Field(300, ge=1)
    otp_from_email: str | None = None  # None: system_email_from
    otp_brand_name: str = "Dovecote"

    # Account lifecycle (docs/accounts.md). `POST /v3/account` creates accounts without
    # authentication only when "open"; new accounts stay inactive until their email
    # address is verified. Sign-ups and recovery requests are limited per client address.
    signup: Literal["closed", "open"] = "closed"
    signup_rate_limit: str = "5/hour"
    recovery_rate_limit: str = "20/hour"
    # Recovery emails (username reminders, reset links) one address may get per hour.
    recovery_mails_per_address_per_hour: int = Field(3, ge=1)
    # Seconds an account activation token and a password-reset token stay valid.
    activation_token_ttl: int = Field(24 * 3600, ge=1)
    password_reset_token_ttl: int = Field(3600, ge=1)

    @model_validator(mode="after")
    def _refuse_argon2_lanes_without_memory(self) -> Settings:
        if self.password_hash_memory_kib < 8 * self.password_hash_parallelism:
            raise ValueError("DOVECOTE_PASSWORD_HASH_MEMORY_KIB must be at least 8 per lane")
        return self

    @model_validator(mode="after")
    def _refuse_default_secret_in_production(self) -> Settings:
        if self.environment == "production" and self.secret_key == DEV_SECRET:
            raise ValueError("DOVECOTE_SECRET_KEY must be set in production")
        return self

    def public_base(self) -> str:
        """The base of links that leave by email (no request to take a base from)."""
        return self.public_url or DEFAULT_PUBLIC_URL

    def transport_for(self, channel: str) -> str:
        """The transport chosen for `channel` ("sandbox": the channel's own sandbox).
        `email_transport` is email's older name for its entry, still honoured."""
        if channel in self.transports:
            return self.transports[channel]
        return self.email_transport if channel == "email" else "sandbox"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")
