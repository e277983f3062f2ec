"""Table definitions (SQLAlchemy Core). Every change here ships with an Alembic migration.

Conventions: times that clients see are Unix seconds (ClickSend speaks Unix time);
queue timing (`due_at`, `lease_until`) is Unix seconds as floats because leases and
backoff need sub-second resolution. Money is integer micro-units (millionths of the
account's currency), so sums never drift the way floats do.
"""

from __future__ import annotations

import sqlalchemy as sa

# `messages.source` of Dovecote's own mail (sender verification, one-time codes, export
# links): not the customer's traffic, so never in its email history nor its usage.
SYSTEM_SOURCE = "system"


def _when_set(name: str, column: str) -> sa.Index:
    """An index of the rows where `column` is not NULL, on both databases (0029). A queue's
    `due_at` is NULL once a row is finished and `messages.group_id` on every SMS: indexed
    in full, SQLite kept (and wrote, on every insert) a NULL entry for each such row. Both
    databases use it for `column = ?`, `<= ?`, `IN (…)` and `IS NOT NULL`, never for
    `IS NULL`."""
    present = sa.text(f"{column} IS NOT NULL")
    return sa.Index(name, column, sqlite_where=present, postgresql_where=present)


metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# ClickSend's subaccount permission flags, in the order its API lists them.
ACCESS_FLAGS = (
    "access_smpp",
    "access_users",
    "access_billing",
    "access_reporting",
    "access_contacts",
    "access_settings",
    "access_sms",
    "access_email",
    "access_voice",
    "access_fax",
    "access_post",
    "access_reseller",
    "access_global_sending",
    "access_mms",
)

accounts = sa.Table(
    "accounts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(200), nullable=False, server_default=""),
    sa.Column("billing_email", sa.String(320), nullable=False, server_default=""),
    sa.Column("billing_mobile", sa.String(32), nullable=False, server_default=""),
    sa.Column("balance_micros", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("currency", sa.String(3), nullable=False, server_default="USD"),
    sa.Column("country", sa.String(2), nullable=False, server_default="US"),
    sa.Column("timezone", sa.String(64), nullable=False, server_default="UTC"),
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("banned", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("sms_max_parts", sa.Integer, nullable=False, server_default="6"),
    sa.Column("unicode_sms", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("settings", sa.JSON, nullable=False, server_default="{}"),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    # Ids are never reused (SQLite would otherwise hand a deleted row's id to the next
    # insert): a stale reference must never name someone else. PostgreSQL never reuses.
    sqlite_autoincrement=True,  # (0007)
)

# ClickSend calls every login of an account a "subaccount"; the first one is the main user.
users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column(
        "account_id", sa.Integer, sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("username", sa.String(100), nullable=False, unique=True),
    sa.Column("password_hash", sa.String(200), nullable=False),
    sa.Column("email", sa.String(320), nullable=False, server_default=""),
    sa.Column("phone_number", sa.String(32), nullable=False, server_default=""),
    sa.Column("first_name", sa.String(100), nullable=False, server_default=""),
    sa.Column("last_name", sa.String(100), nullable=False, server_default=""),
    sa.Column("is_main", sa.Boolean, nullable=False, server_default=sa.false()),
    *(
        sa.Column(flag, sa.Boolean, nullable=False, server_default=sa.true())
        for flag in ACCESS_FLAGS
    ),
    sa.Column("hide_pricing", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("share_campaigns", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("notes", sa.Text, nullable=True),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Index("ix_users_account_id", "account_id"),
    # Logins are case-insensitive, so usernames are unique whatever the case: concurrent
    # creates of `Name` and `NAME` cannot both win. (0007)
    sa.Index("uq_users_username_lower", sa.func.lower(sa.column("username")), unique=True),
    sqlite_autoincrement=True,  # (0007)
)

# Only a SHA-256 of each key is kept: keys are 128 random bits, so a fast hash is
# safe against guessing and lets auth find the key with one indexed lookup.
api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    sa.Column("key_hash", sa.String(64), nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Index("ix_api_keys_user_id", "user_id"),
    # Not unique: the spec's three test accounts share one documented key.
    sa.Index("ix_api_keys_key_hash", "key_hash"),
    sqlite_autoincrement=True,  # (0007)
)

# Messages of every channel and both directions; outbound rows are the delivery queue.
messages = sa.Table(
    "messages",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),  # UUIDv7, upper case: ClickSend's format
    sa.Column("account_id", sa.Integer, nullable=False),
    sa.Column("user_id", sa.Integer, nullable=False),
    sa.Column("channel", sa.String(16), nullable=False),  # sms, mms, voice, email, ...
    sa.Column("direction", sa.String(3), nullable=False),  # out | in
    sa.Column("sender", sa.String(320), nullable=False, server_default=""),
    sa.Column("recipient", sa.String(320), nullable=False),
    sa.Column("country", sa.String(2), nullable=False, server_default=""),
    sa.Column("subject", sa.Text, nullable=True),
    sa.Column("body", sa.Text, nullable=False, server_default=""),
    sa.Column("body_hash", sa.String(16), nullable=False, server_default=""),
    sa.Column("parts", sa.Integer, nullable=False, server_default="1"),
    sa.Column("encoding", sa.String(8), nullable=False, server_default="GSM"),
    sa.Column("price_micros", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("currency", sa.String(3), nullable=False, server_default="USD"),
    sa.Column("custom_string", sa.Text, nullable=True),
    # Who queued it; SYSTEM_SOURCE marks Dovecote's own mail (not the account's traffic).
    sa.Column("source", sa.String(100), nullable=True),
    sa.Column("from_email", sa.String(320), nullable=True),
    sa.Column("list_id", sa.Integer, nullable=True),
    sa.Column("is_test", sa.Boolean, nullable=False, server_default=sa.false()),
    # Queue state: queued → sending → sent → delivered | failed | expired; cancelled.
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("status_code", sa.String(8), nullable=True),
    sa.Column("status_text", sa.Text, nullable=True),
    sa.Column("error_code", sa.String(32), nullable=True),
    sa.Column("error_text", sa.Text, nullable=True),
    sa.Column("schedule", sa.BigInteger, nullable=True),
    sa.Column("due_at", sa.Float, nullable=True),  # NULL once no longer claimable
    sa.Column("lease_until", sa.Float, nullable=True),
    sa.Column("lease_owner", sa.String(64), nullable=True),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("transport", sa.String(32), nullable=True),
    sa.Column("transport_ref", sa.String(128), nullable=True),
    sa.Column("original_message_id", sa.String(36), nullable=True),  # inbound replies
    # Rows composed as one unit (an email to several recipients: one row each, so each
    # has its own delivery, events and bounce). NULL on the unit's first row, which
    # stands for the whole unit in history; the others hold that row's id. (0003)
    sa.Column("group_id", sa.String(36), nullable=True),
    sa.Column("read_at", sa.BigInteger, nullable=True),  # inbound read flag
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("sent_at", sa.BigInteger, nullable=True),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
    _when_set("ix_messages_due", "due_at"),
    sa.Index("ix_messages_account_channel_created", "account_id", "channel", "created_at"),
    sa.Index("ix_messages_throttle", "account_id", "recipient", "body_hash"),
    _when_set("ix_messages_group", "group_id"),
)

# Append-only event log: receipts, opens, clicks, inbound. `read_at` is the one
# mutable column (ClickSend's receipt read flag).
events = sa.Table(
    "events",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("message_id", sa.String(36), nullable=False),
    sa.Column("account_id", sa.Integer, nullable=False),
    sa.Column("user_id", sa.Integer, nullable=False),
    sa.Column("channel", sa.String(16), nullable=False),
    sa.Column("type", sa.String(32), nullable=False),
    sa.Column("occurred_at", sa.Float, nullable=False),
    sa.Column("data", sa.JSON, nullable=False, server_default="{}"),
    sa.Column("read_at", sa.BigInteger, nullable=True),
    sa.Index("ix_events_message", "message_id"),
    sa.Index("ix_events_account_channel_type", "account_id", "channel", "type", "occurred_at"),
    # Retention deletes by channel and age across all accounts (migration 0005).
    sa.Index("ix_events_channel_time", "channel", "occurred_at"),
)

templates = sa.Table(
    "templates",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("account_id", sa.Integer, nullable=False),
    sa.Column("user_id", sa.Integer, nullable=False),
    sa.Column("channel", sa.String(16), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Index("ix_templates_account_channel", "account_id", "channel"),
)

# --- email (migration 0002) -------------------------------------------------------------

# Channel-specific request data that has no column of its own (email: to/cc/bcc with
# names, from name, attachment metadata, categories, custom args, tracking switches).
message_payloads = sa.Table(
    "message_payloads",
    metadata,
    sa.Column("message_id", sa.String(36), primary_key=True),
    sa.Column("payload", sa.JSON, nullable=False),
)

# The exact bytes a transport sends (the built MIME for email), stored once at accept
# time so the sandbox can show it and retries send the identical message.
message_content = sa.Table(
    "message_content",
    metadata,
    sa.Column("message_id", sa.String(36), primary_key=True),
    sa.Column("content", sa.LargeBinary, nullable=False),
)

email_addresses = sa.Table(
    "email_addresses",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("account_id", sa.Integer, nullable=False),
    sa.Column("user_id", sa.Integer, nullable=False),
    sa.Column("email", sa.String(320), nullable=False),
    sa.Column("verified", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("token_hash", sa.String(64), nullable=True),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    # When the current activation token was mailed; it expires `email_address_token_ttl`
    # seconds later. NULL with a token (issued before 0008): expired. (0008)
    sa.Column("token_issued_at", sa.BigInteger, nullable=True),
    sa.Index("ix_email_addresses_account", "account_id", "email"),
    # One row per address and account, whatever the case: concurrent creates cannot both win.
    sa.Index(
        "uq_email_addresses_account_email",
        "account_id",
        sa.func.lower(sa.column("email")),
        unique=True,
    ),
)

# Per-account suppression list: hard bounces and unsubscribes are dropped without a send.
suppressions = sa.Table(
    "suppressions",
    metadata,
    sa.Column("account_id", sa.Integer, primary_key=True),
    sa.Column("email", sa.String(320), primary_key=True),
    sa.Column("reason", sa.String(32), nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
)

# One row per email: the denormalised view Email Activity searches. Kept current by the
# email event sink, so queries never aggregate the event log.
email_activity = sa.Table(
    "email_activity",
    metadata,
    sa.Column("message_id", sa.String(36), primary_key=True),
    sa.Column("account_id", sa.Integer, nullable=False),
    sa.Column("user_id", sa.Integer, nullable=False),
    sa.Column("from_email", sa.String(320), nullable=False),
    sa.Column("to_email", sa.String(320), nullable=False),
    sa.Column("subject", sa.Text, nullable=False, server_default=""),
    sa.Column("status", sa.String(16), nullable=False),  # processed | delivered | not_delivered
    sa.Column("template_id", sa.String(64), nullable=True),
    sa.Column("api_key_id", sa.String(64), nullable=True),
    sa.Column("originating_ip", sa.String(64), nullable=True),
    sa.Column("outbound_ip", sa.String(64), nullable=True),
    sa.Column("outbound_ip_type", sa.String(16), nullable=True),
    sa.Column("teammate", sa.String(100), nullable=True),
    sa.Column("asm_group_id", sa.Integer, nullable=True),
    sa.Column("categories", sa.JSON, nullable=False, server_default="[]"),
    sa.Column("unique_args", sa.JSON, nullable=False, server_default="{}"),
    sa.Column("opens_count", sa.Integer, nullable=False, server_default="0"),
    sa.Column("clicks_count", sa.Integer, nullable=False, server_default="0"),
    sa.Column("last_event_time", sa.Float, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Index("ix_email_activity_account_time", "account_id", "last_event_time"),
    # Subaccounts list only their own mail (migration 0005).
    sa.Index("ix_email_activity_account_user_time", "account_id", "user_id", "last_event_time"),
    sa.Index("ix_email_activity_account_to", "account_id", "to_email"),
    sa.Index("ix_email_activity_account_from", "account_id", "from_email"),
    sa.Index("ix_email_activity_account_status", "account_id", "status", "last_event_time"),
)

email_activity_categories = sa.Table(
    "email_activity_categories",
    metadata,
    sa.Column("message_id", sa.String(36), primary_key=True),
    sa.Column("category", sa.String(255), primary_key=True),
    sa.Column("account_id", sa.Integer, nullable=False),
    sa.Index("ix_email_activity_categories_lookup", "account_id", "category"),
)

email_activity_args = sa.Table(
    "email_activity_args",
    metadata,
    sa.Column("message_id", sa.String(36), primary_key=True),
    sa.Column("key", sa.String(255), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
    sa.Column("account_id", sa.Integer, nullable=False),
    sa.Index("ix_email_activity_args_lookup", "account_id", "key"),
)

# --- EmailVerify (migration 0004) -------------------------------------------------------

# One live one-time code per (account, address): a new code replaces the row's hash and
# resets `attempts`. Only an HMAC of the code is kept (keyed with the server secret, the
# account and the address), so a leaked database reveals no code. `status` moves
# pending → approved | expired | max_attempts_reached, each change by a conditional UPDATE
# so that concurrent checks record every transition (and its event) exactly once.
email_verifications = sa.Table(
    "email_verifications",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column(
        "account_id", sa.Integer, sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("user_id", sa.Integer, nullable=False),
    sa.Column("email", sa.String(320), nullable=False),  # lower-cased
    sa.Column("code_hash", sa.String(64), nullable=False),
    sa.Column("status", sa.String(24), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("max_attempts", sa.Integer, nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False),
    sa.Column("verified_at", sa.BigInteger, nullable=True),
    sa.Column("message_id", sa.String(36), nullable=True),  # the email that carried the code
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.UniqueConstraint("account_id", "email", name="uq_email_verifications_account_email"),
)

# --- Email Activity CSV exports (migration 0006) -----------------------------------------

# One row per `POST /v3/messages/download`; its id is the download uuid. The row is the
# job: workers claim it like a message (`due_at <= now`, the claim pushes `due_at` to the
# lease end), so a crashed worker's export is taken over when its lease runs out.
# `status` moves pending → running → ready | failed (running → pending again on a retry).
# Only the gzip CSV lives outside the database: `file_path`, relative to
# `settings.activity_export_dir`, once ready.
activity_exports = sa.Table(
    "activity_exports",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column(
        "account_id", sa.Integer, sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("user_id", sa.Integer, nullable=False),  # who asked (owns the download)
    sa.Column("scope_user_id", sa.Integer, nullable=True),  # NULL: the whole account
    sa.Column("query", sa.Text, nullable=True),
    sa.Column("since", sa.Float, nullable=False),  # the history window's start when asked
    sa.Column("email", sa.String(320), nullable=False, server_default=""),  # where to mail
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("due_at", sa.Float, nullable=True),  # NULL once ready or failed
    sa.Column("lease_owner", sa.String(64), nullable=True),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("file_path", sa.String(255), nullable=True),
    sa.Column("row_count", sa.Integer, nullable=False, server_default="0"),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("finished_at", sa.Float, nullable=True),
    sa.Column("expires_at", sa.Float, nullable=False),
    _when_set("ix_activity_exports_due", "due_at"),
    sa.Index("ix_activity_exports_expires", "expires_at"),
)

# --- SendGrid dynamic templates (migration 0009) ------------------------------------------

# SendGrid's templates: `d-` + 32 hex for dynamic ones, a UUID for legacy ones.
dynamic_templates = sa.Table(
    "dynamic_templates",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("account_id", sa.Integer, nullable=False),
    sa.Column("user_id", sa.Integer, nullable=False),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("generation", sa.String(16), nullable=False),  # "dynamic" | "legacy"
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
    sa.Index("ix_dynamic_templates_account", "account_id", "created_at"),
)

# A template's versions; at most one is active (the one mail/send renders).
dynamic_template_versions = sa.Table(
    "dynamic_template_versions",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("template_id", sa.String(36), nullable=False),
    sa.Column("account_id", sa.Integer, nullable=False),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("subject", sa.String(255), nullable=False),
    sa.Column("html_content", sa.Text, nullable=False),
    sa.Column("plain_content", sa.Text, nullable=False),
    sa.Column("generate_plain_content", sa.Boolean, nullable=False),
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Column("editor", sa.String(16), nullable=False),
    sa.Column("test_data", sa.Text, nullable=True),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
    sa.Index("ix_dynamic_template_versions_template", "template_id", "created_at"),
)

# --- Automations and webhooks (migration 0010) --------------------------------------------

# ClickSend's automation rules, every kind in one table (`kind`: "sms_inbound",
# "sms_receipt", "email_receipt", "voice_receipt", "fax_inbound", "fax_receipt"). Inbound
# rules use the search fields and `dedicated_number`; receipt rules use `match_type`.
automation_rules = sa.Table(
    "automation_rules",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "account_id", sa.Integer, sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("user_id", sa.Integer, nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("rule_name", sa.String(255), nullable=False),
    sa.Column("action", sa.String(40), nullable=False),
    sa.Column("action_address", sa.Text, nullable=False),
    sa.Column("body", sa.Text, nullable=True),
    sa.Column("webhook_type", sa.String(8), nullable=True),
    sa.Column("enabled", sa.Boolean, nullable=False),
    sa.Column("match_type", sa.Integer, nullable=True),
    sa.Column("message_search_type", sa.Integer, nullable=True),
    sa.Column("message_search_term", sa.String(255), nullable=True),
    sa.Column("dedicated_number", sa.String(64), nullable=True),
    # A URL rule whose endpoint keeps failing is paused (enabled off) with the reason;
    # `failures` counts consecutive failed deliveries and resets on any success.
    sa.Column("paused_reason", sa.Text, nullable=True),
    sa.Column("failures", sa.Integer, nullable=False, server_default="0"),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
    sa.Index("ix_automation_rules_account_kind", "account_id", "kind", "id"),
)

# `POST /v3/delivery-issues`: a customer's report of a delivery problem, for the operator.
delivery_issues = sa.Table(
    "delivery_issues",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "account_id", sa.Integer, sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("user_id", sa.Integer, nullable=False),
    sa.Column("message_id", sa.String(64), nullable=False),
    sa.Column("type", sa.String(32), nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("email_address", sa.String(320), nullable=False),
    sa.Column("client_comments", sa.Text, nullable=True),
    sa.Column("support_comments", sa.Text, nullable=True),
    sa.Column("status", sa.String(32), nullable=True),
    sa.Column("resolved", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Index("ix_delivery_issues_account", "account_id", "id"),
)

# The account's Standard Webhooks signing secret; the previous one keeps signing (beside
# the new one) until `previous_until`, so receivers can roll over without a gap.
webhook_secrets = sa.Table(
    "webhook_secrets",
    metadata,
    sa.Column(
        "account_id",
        sa.Integer,
        sa.ForeignKey("accounts.id", ondelete="CASCADE"),
        primary_key=True,
        autoincrement=False,
    ),
    # Sealed (`enc:` + a Fernet token, ~145 characters; migration 0028 widened them).
    sa.Column("secret", sa.String(255), nullable=False),
    sa.Column("previous_secret", sa.String(255), nullable=True),
    sa.Column("previous_until", sa.Float, nullable=True),
    sa.Column("created_at", sa.Float, nullable=False),
)

# Webhooks queued like messages: the event sink inserts them in the event's transaction,
# the worker claims due rows with a lease and POSTs them. `id` orders them (per rule and
# message, a delivery waits for the earlier ones); `webhook_id` is the Standard Webhooks
# `webhook-id`, the same on every retry so receivers can deduplicate.
webhook_deliveries = sa.Table(
    "webhook_deliveries",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("webhook_id", sa.String(40), nullable=False, unique=True),
    sa.Column(
        "account_id", sa.Integer, sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("rule_id", sa.Integer, nullable=False),
    sa.Column("event_type", sa.String(32), nullable=False),
    sa.Column("message_id", sa.String(64), nullable=True),
    sa.Column("url", sa.Text, nullable=False),
    sa.Column("content_type", sa.String(64), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),  # pending | delivered | dead
    sa.Column("due_at", sa.Float, nullable=True),  # NULL once delivered or dead
    sa.Column("lease_owner", sa.String(64), nullable=True),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("last_status", sa.Integer, nullable=True),  # the receiver's last HTTP status
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Column("latency_ms", sa.Integer, nullable=True),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("finished_at", sa.Float, nullable=True),
    _when_set("ix_webhook_deliveries_due", "due_at"),
    sa.Index("ix_webhook_deliveries_account", "account_id", "id"),
    sa.Index("ix_webhook_deliveries_order", "rule_id", "message_id", "id"),
)

# Rule actions other than URL (an email, an auto-reply SMS): queued by the sink in the
# event's transaction and run by the worker, which charges and queues them in its own.
automation_actions = sa.Table(
    "automation_actions",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column(
        "account_id", sa.Integer, sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("user_id", sa.Integer, nullable=False),
    sa.Column("rule_id", sa.Integer, nullable=False),
    sa.Column("action", sa.String(40), nullable=False),
    sa.Column("payload", sa.JSON, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),  # pending | done | failed
    sa.Column("due_at", sa.Float, nullable=True),
    sa.Column("lease_owner", sa.String(64), nullable=True),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("result", sa.Text, nullable=True),  # the message id queued, or why not
    sa.Column("created_at", sa.Float, nullable=False),
    _when_set("ix_automation_actions_due", "due_at"),
)

# Files uploaded through `POST /v3/uploads` (0012). The bytes live in the file store
# under `file_key`; the row gives ClickSend's `upload_id` and lets expired files go.
uploads = sa.Table(
    "uploads",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("account_id", sa.Integer, nullable=False),
    sa.Column("user_id", sa.Integer, nullable=False),
    sa.Column("file_key", sa.String(200), nullable=False),
    sa.Column("file_name", sa.String(100), nullable=False),
    sa.Column("content_type", sa.String(100), nullable=False),
    sa.Column("size", sa.Integer, nullable=False),
    sa.Column("convert", sa.String(8), nullable=True),  # fax | mms | post | csv
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("expires_at", sa.BigInteger, nullable=False),
    sa.Index("ix_uploads_expires", "expires_at"),
)

# The media file of an MMS (0012): one row per message, the bytes in the file store
# under a content-addressed key (one file however many recipients share it).
message_media = sa.Table(
    "message_media",
    metadata,
    sa.Column("message_id", sa.String(36), primary_key=True),
    sa.Column("account_id", sa.Integer, nullable=False),
    sa.Column("file_key", sa.String(200), nullable=False),
    sa.Column("content_type", sa.String(100), nullable=False),
    sa.Column("size", sa.Integer, nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
)

# Receipts are matched to their message by the id the SMSC gave it (0014). Partial on
# SQLite (0029): a queued message has none, and its insert wrote a NULL entry. Full on
# PostgreSQL, where partial measured no difference (bench/README.md, session 7) and a
# rebuild would hold every write to `messages` while it ran.
sa.Index(
    "ix_messages_transport_ref",
    messages.c.transport_ref,
    sqlite_where=messages.c.transport_ref.is_not(None),
)

# deliver_sm PDUs the SMPP transport could not apply yet: a receipt that arrived before
# the dispatcher wrote its message's transport_ref (`pending`, retried), one that never
# matched (`unmatched`, kept for the operator), an MO with no account to take it. (0014)
smpp_deliveries = sa.Table(
    "smpp_deliveries",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("kind", sa.String(16), nullable=False),  # receipt | mo
    sa.Column("state", sa.String(16), nullable=False),  # pending | unmatched | unrouted
    sa.Column("smsc_message_id", sa.String(128), nullable=True),
    sa.Column("stat", sa.String(16), nullable=True),
    sa.Column("err", sa.String(16), nullable=True),
    sa.Column("sender", sa.String(32), nullable=True),
    sa.Column("recipient", sa.String(32), nullable=True),
    sa.Column("body", sa.Text, nullable=False, server_default=""),
    sa.Column("received_at", sa.Float, nullable=False),
    sa.Index("ix_smpp_deliveries_state", "state", "received_at"),
)

# --- Numbers, sender ids, email-to-SMS (migration 0015) -----------------------------------

# The operator's inventory of dedicated numbers (`dovecote numbers import`). A number is
# for sale while `account_id` is NULL; buying sets it with a conditional UPDATE in the
# transaction that charges the monthly price, so two buyers can never both get it.
# Prices are micro-units of the buying account's currency.
numbers = sa.Table(
    "numbers",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("number", sa.String(32), nullable=False, unique=True),  # E.164
    sa.Column("country", sa.String(2), nullable=False),
    sa.Column("number_type", sa.String(16), nullable=False),  # longcode, tollfree, shortcode
    sa.Column("capabilities", sa.String(64), nullable=False, server_default="sms"),
    sa.Column("price_monthly_micros", sa.BigInteger, nullable=False),
    sa.Column("connector", sa.String(64), nullable=True),  # the route replies arrive by
    sa.Column("account_id", sa.Integer, nullable=True),
    sa.Column("user_id", sa.Integer, nullable=True),
    sa.Column("registration", sa.String(32), nullable=False, server_default="NOT_REQUIRED"),
    sa.Column("purchased_at", sa.BigInteger, nullable=True),
    sa.Column("paid_until", sa.BigInteger, nullable=True),  # the renewal job's due time
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Index("ix_numbers_account", "account_id"),
    sa.Index("ix_numbers_paid_until", "paid_until"),
    sa.Index("ix_numbers_country", "country", "number"),
)

# Numbers the customer already has (a mobile, an office line), usable as a sender once a
# code sent by SMS to it has been typed back. Ids are UUIDs, as SDK 6's model types them.
own_numbers = sa.Table(
    "own_numbers",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("account_id", sa.Integer, nullable=False),
    sa.Column("user_id", sa.Integer, nullable=False),
    sa.Column("phone_number", sa.String(32), nullable=False),
    sa.Column("country", sa.String(2), nullable=False),
    sa.Column("label", sa.String(100), nullable=False, server_default=""),
    sa.Column("status", sa.String(16), nullable=False),  # UNVERIFIED | VERIFIED
    sa.Column("verified_at", sa.BigInteger, nullable=True),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
    sa.UniqueConstraint("account_id", "phone_number", name="uq_own_numbers_account_number"),
)

# One code per verification request; only an HMAC of the code is kept (as EmailVerify's).
own_number_verifications = sa.Table(
    "own_number_verifications",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("own_number_id", sa.String(36), nullable=False),
    sa.Column("account_id", sa.Integer, nullable=False),
    sa.Column("code_hash", sa.String(64), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),  # PENDING | VERIFIED | EXPIRED | FAILED
    sa.Column("remaining_attempts", sa.Integer, nullable=False),
    sa.Column("expires_at", sa.BigInteger, nullable=False),
    sa.Column("message_id", sa.String(36), nullable=True),  # the SMS that carried the code
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
    sa.Index("ix_own_number_verifications_own_number", "own_number_id"),
)

# Alphanumeric sender ids an account asked for; only APPROVED ones pass the sender check.
alpha_tags = sa.Table(
    "alpha_tags",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("account_id", sa.Integer, nullable=False),
    sa.Column("user_id", sa.Integer, nullable=False),
    sa.Column("alpha_tag", sa.String(11), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),  # PENDING | APPROVED | REJECTED
    sa.Column("reason", sa.String(500), nullable=False, server_default=""),
    sa.Column("countries", sa.JSON, nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
    sa.UniqueConstraint("account_id", "alpha_tag", name="uq_alpha_tags_account_tag"),
)

# Which sender an SMS without `from` gets, per recipient country: ordered strategies.
default_senders = sa.Table(
    "default_senders",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("account_id", sa.Integer, nullable=False),
    sa.Column("user_id", sa.Integer, nullable=False),
    sa.Column("country_code", sa.String(2), nullable=False),
    sa.Column("product_type", sa.String(8), nullable=False),
    sa.Column("strategies", sa.JSON, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
    sa.UniqueConstraint(
        "account_id", "country_code", "product_type", name="uq_default_senders_account_country"
    ),
)

# Email-to-SMS: addresses (or `*@domain` patterns) allowed to send SMS by email, and the
# sender id their SMS carry.
email_sms_addresses = sa.Table(
    "email_sms_addresses",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("account_id", sa.Integer, nullable=False),
    sa.Column("user_id", sa.Integer, nullable=False),
    sa.Column("email_address", sa.String(320), nullable=False),  # lower-cased
    sa.Column("sender", sa.String(64), nullable=False, server_default=""),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Index("ix_email_sms_addresses_address", "email_address"),
    sa.Index("ix_email_sms_addresses_account", "account_id"),
    sqlite_autoincrement=True,
)

# Strings cut out of every email-to-SMS body of the account (disclaimers, footers).
email_sms_stripped_strings = sa.Table(
    "email_sms_stripped_strings",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("account_id", sa.Integer, nullable=False),
    sa.Column("strip_string", sa.String(500), nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Index("ix_email_sms_stripped_strings_account", "account_id"),
    sqlite_autoincrement=True,
)


# --- account lifecycle and statistics (migration 0016) --------------------------------

# Sign-up activation and password-reset tokens. Only a SHA-256 of each token is kept (the
# token is 192 random bits, so a fast hash is safe); a token works once (`used_at`) and
# until `expires_at`.
account_tokens = sa.Table(
    "account_tokens",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    sa.Column("purpose", sa.String(16), nullable=False),  # activation | password
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("expires_at", sa.BigInteger, nullable=False),
    sa.Column("used_at", sa.BigInteger, nullable=True),
    sa.Index("ix_account_tokens_user_id", "user_id"),
)

# The countries an account chose for global sending (`/user-countries`); `country_id` is
# the ISO 3166 numeric code, which `/country-list` answers as each country's id.
account_countries = sa.Table(
    "account_countries",
    metadata,
    sa.Column(
        "account_id",
        sa.Integer,
        sa.ForeignKey("accounts.id", ondelete="CASCADE"),
        primary_key=True,
        autoincrement=False,
    ),
    sa.Column("country_id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("agreed_at", sa.BigInteger, nullable=True),
    sa.Column("created_at", sa.BigInteger, nullable=False),
)

# Statistics rollups: messages and their cost per account, channel, UTC day (of
# acceptance) and current status. Kept current by the statistics event sink, so a read
# touches at most days × statuses rows whatever the account's volume.
statistics_daily = sa.Table(
    "statistics_daily",
    metadata,
    sa.Column("account_id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("channel", sa.String(16), primary_key=True),
    sa.Column("day", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("status", sa.String(16), primary_key=True),
    sa.Column("count", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("price_micros", sa.BigInteger, nullable=False, server_default="0"),
    # Stored in primary-key order on SQLite, so a read is one sequential range, not an
    # index walk with a table lookup per row.
    sqlite_with_rowid=False,
)

# Where each not-yet-final message is counted, so a status change moves it out of the
# bucket it is in; deleted when the message reaches a final status. Holds the in-flight
# messages only, never the history.
statistics_inflight = sa.Table(
    "statistics_inflight",
    metadata,
    sa.Column("message_id", sa.String(36), primary_key=True),
    sa.Column("account_id", sa.Integer, nullable=False),
    sa.Column("channel", sa.String(16), nullable=False),
    sa.Column("day", sa.BigInteger, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("price_micros", sa.BigInteger, nullable=False),
)


# --- Contact lists, contacts and their imports (migration 0011) ----------------------------

# ClickSend's address book: lists of contacts per account, shared by its users. The
# account's opt-out list (`is_opt_out`) is an ordinary list whose phone numbers no send
# reaches; an inbound STOP adds to it.
contact_lists = sa.Table(
    "contact_lists",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("account_id", sa.Integer, nullable=False),
    sa.Column("user_id", sa.Integer, nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("email_id", sa.String(16), nullable=False),
    sa.Column("is_opt_out", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    # Kept by triggers on `contacts` (migration 0025): never written by the code.
    sa.Column("contacts_count", sa.BigInteger, nullable=False, server_default="0"),
    sa.Index("ix_contact_lists_account", "account_id", "id"),
    sqlite_autoincrement=True,  # a deleted list's id never names another list
)

contacts = sa.Table(
    "contacts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("account_id", sa.Integer, nullable=False),
    sa.Column("list_id", sa.Integer, nullable=False),
    sa.Column("phone_number", sa.String(32), nullable=True),  # E.164
    sa.Column("fax_number", sa.String(32), nullable=True),  # E.164
    sa.Column("email", sa.String(320), nullable=True),
    sa.Column("first_name", sa.String(255), nullable=True),
    sa.Column("last_name", sa.String(255), nullable=True),
    sa.Column("custom_1", sa.Text, nullable=True),
    sa.Column("custom_2", sa.Text, nullable=True),
    sa.Column("custom_3", sa.Text, nullable=True),
    sa.Column("custom_4", sa.Text, nullable=True),
    sa.Column("organization_name", sa.String(255), nullable=True),
    sa.Column("address_line_1", sa.String(255), nullable=True),
    sa.Column("address_line_2", sa.String(255), nullable=True),
    sa.Column("address_city", sa.String(255), nullable=True),
    sa.Column("address_state", sa.String(255), nullable=True),
    sa.Column("address_postal_code", sa.String(32), nullable=True),
    sa.Column("address_country", sa.String(2), nullable=True),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
    sa.Index("ix_contacts_list", "list_id", "id"),
    sa.Index("ix_contacts_account_phone", "account_id", "phone_number"),
    sqlite_autoincrement=True,
)

# Imports are durable worker jobs claimed with `pipeline/leases.claim`, like Email
# Activity exports. `next_row` is committed with each batch of contacts, so a worker
# that dies resumes after the last committed batch: no row imported twice, none lost.
contact_imports = sa.Table(
    "contact_imports",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("account_id", sa.Integer, nullable=False),
    sa.Column("user_id", sa.Integer, nullable=False),
    sa.Column("list_id", sa.Integer, nullable=False),
    sa.Column("file_key", sa.String(255), nullable=False),
    sa.Column("file_type", sa.String(8), nullable=False),  # csv | xlsx
    sa.Column("field_order", sa.JSON, nullable=False),
    sa.Column("dedupe", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("due_at", sa.Float, nullable=True),  # NULL once done or failed
    sa.Column("lease_owner", sa.String(64), nullable=True),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_row", sa.Integer, nullable=False, server_default="0"),
    sa.Column("imported", sa.Integer, nullable=False, server_default="0"),
    sa.Column("refused", sa.Integer, nullable=False, server_default="0"),
    sa.Column("duplicates", sa.Integer, nullable=False, server_default="0"),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("finished_at", sa.Float, nullable=True),
    _when_set("ix_contact_imports_due", "due_at"),
    sa.Index("ix_contact_imports_list", "list_id"),
)

# The per-row report of an import: which rows were refused and why (the first
# `MAX_REPORTED` of them; the count in `contact_imports.refused` is always complete).
contact_import_errors = sa.Table(
    "contact_import_errors",
    metadata,
    sa.Column("import_id", sa.String(36), primary_key=True),
    sa.Column("row_number", sa.Integer, primary_key=True),
    sa.Column("reason", sa.String(500), nullable=False),
)

# An SMS campaign: one body to every contact of a list. The request only inserts this
# row; workers claim it (`pipeline/leases.claim`) and fan it out in batches, each batch's
# messages, charge and `cursor` (the last contact id done) in one transaction, so a
# crash resumes after the last batch with no contact messaged twice. Its messages carry
# `source = "sms-campaign:<id>"`.
sms_campaigns = sa.Table(
    "sms_campaigns",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("account_id", sa.Integer, nullable=False),
    sa.Column("user_id", sa.Integer, nullable=False),
    sa.Column("list_id", sa.Integer, nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("sender", sa.String(64), nullable=False, server_default=""),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("schedule", sa.BigInteger, nullable=True),
    sa.Column("custom_string", sa.Text, nullable=True),
    sa.Column("source", sa.String(100), nullable=True),
    sa.Column("senders", sa.JSON, nullable=False),  # recipient country → sender id
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("max_contact_id", sa.Integer, nullable=False),  # the list as it was sent
    sa.Column("cursor", sa.Integer, nullable=False, server_default="0"),
    sa.Column("queued", sa.Integer, nullable=False, server_default="0"),
    sa.Column("opted_out", sa.Integer, nullable=False, server_default="0"),
    sa.Column("refused", sa.Integer, nullable=False, server_default="0"),
    sa.Column("price_micros", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("due_at", sa.Float, nullable=True),
    sa.Column("lease_owner", sa.String(64), nullable=True),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("ip_address", sa.String(64), nullable=True),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    # 0018: MMS campaigns share the table, the fan-out and the counters.
    sa.Column("channel", sa.String(8), nullable=False, server_default="sms"),
    sa.Column("subject", sa.String(200), nullable=True),
    sa.Column("media_url", sa.Text, nullable=True),  # as the client gave it
    sa.Column("media_key", sa.String(200), nullable=True),  # fetched once, at creation
    sa.Column("media_type", sa.String(64), nullable=True),
    sa.Column("media_size", sa.Integer, nullable=True),
    sa.Column("url_to_shorten", sa.Text, nullable=True),  # link tracking's long URL
    sa.Index("ix_sms_campaigns_account", "account_id", "id"),
    _when_set("ix_sms_campaigns_due", "due_at"),
    sqlite_autoincrement=True,
)

# An email campaign: one subject and body to every contact of a list with an email
# address, fanned out by workers like `sms_campaigns` (same lease, `cursor` and counters).
# Its messages carry `source = "email-campaign:<id>"`.
email_campaigns = sa.Table(
    "email_campaigns",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("account_id", sa.Integer, nullable=False),
    sa.Column("user_id", sa.Integer, nullable=False),
    sa.Column("list_id", sa.Integer, nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("subject", sa.String(998), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("from_email_address_id", sa.Integer, nullable=False),
    sa.Column("from_name", sa.String(200), nullable=True),
    sa.Column("template_id", sa.Integer, nullable=True),
    sa.Column("schedule", sa.BigInteger, nullable=True),
    sa.Column("custom_string", sa.Text, nullable=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("max_contact_id", sa.Integer, nullable=False),  # the list as it was sent
    sa.Column("cursor", sa.Integer, nullable=False, server_default="0"),
    sa.Column("queued", sa.Integer, nullable=False, server_default="0"),
    sa.Column("opted_out", sa.Integer, nullable=False, server_default="0"),
    sa.Column("refused", sa.Integer, nullable=False, server_default="0"),
    sa.Column("price_micros", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("due_at", sa.Float, nullable=True),
    sa.Column("lease_owner", sa.String(64), nullable=True),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("ip_address", sa.String(64), nullable=True),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Index("ix_email_campaigns_account", "account_id", "id"),
    _when_set("ix_email_campaigns_due", "due_at"),
    sqlite_autoincrement=True,
)


# 0018: link tracking. A long URL of a campaign, and one short code per recipient.
short_urls = sa.Table(
    "short_urls",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("account_id", sa.Integer, nullable=False),
    sa.Column("source", sa.String(32), nullable=False),  # e.g. "sms-campaign"
    sa.Column("source_id", sa.Integer, nullable=False),
    sa.Column("long_url", sa.Text, nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Index("ix_short_urls_source", "account_id", "source", "source_id"),
    sqlite_autoincrement=True,
)

short_links = sa.Table(
    "short_links",
    metadata,
    sa.Column("code", sa.String(16), primary_key=True),
    sa.Column("long_url_id", sa.Integer, nullable=False),
    sa.Column("account_id", sa.Integer, nullable=False),
    sa.Column("recipient", sa.String(64), nullable=False),
    sa.Column("contact_id", sa.Integer, nullable=True),
    sa.Column("message_id", sa.String(64), nullable=True),
    sa.Column("clicks", sa.Integer, nullable=False, server_default="0"),
    sa.Column("first_clicked_at", sa.BigInteger, nullable=True),
    sa.Column("last_clicked_at", sa.BigInteger, nullable=True),
    # The most recent click's user agent, read coarsely (device, browser, OS).
    sa.Column("user_device", sa.String(32), nullable=True),
    sa.Column("user_browser", sa.String(32), nullable=True),
    sa.Column("user_os", sa.String(32), nullable=True),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Index("ix_short_links_url", "long_url_id", "code"),
)


# Post (0019): an account's return addresses, and each letter's or postcard's address,
# options and document (the queued row itself is in `messages`, channel post/postcard).
post_return_addresses = sa.Table(
    "post_return_addresses",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("account_id", sa.Integer, nullable=False),
    sa.Column("user_id", sa.Integer, nullable=False),
    sa.Column("address_name", sa.String(200), nullable=False),
    sa.Column("address_line_1", sa.String(200), nullable=False),
    sa.Column("address_line_2", sa.String(200), nullable=False, server_default=""),
    sa.Column("address_city", sa.String(100), nullable=False),
    sa.Column("address_state", sa.String(100), nullable=False, server_default=""),
    sa.Column("address_postal_code", sa.String(20), nullable=False),
    sa.Column("address_country", sa.String(2), nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Index("ix_post_return_addresses_account", "account_id", "id"),
    sqlite_autoincrement=True,
)

post_items = sa.Table(
    "post_items",
    metadata,
    sa.Column("message_id", sa.String(36), primary_key=True),
    sa.Column("account_id", sa.Integer, nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),  # letter | postcard
    sa.Column("address_name", sa.String(200), nullable=False),
    sa.Column("address_line_1", sa.String(200), nullable=False),
    sa.Column("address_line_2", sa.String(200), nullable=False, server_default=""),
    sa.Column("address_city", sa.String(100), nullable=False),
    sa.Column("address_state", sa.String(100), nullable=False, server_default=""),
    sa.Column("address_postal_code", sa.String(20), nullable=False),
    sa.Column("address_country", sa.String(2), nullable=False),
    sa.Column("return_address_id", sa.Integer, nullable=True),
    sa.Column("colour", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("duplex", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("priority_post", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("pages", sa.Integer, nullable=False),
    sa.Column("file_key", sa.String(200), nullable=False),  # the letter; a postcard's front
    sa.Column("back_key", sa.String(200), nullable=True),  # a postcard's back
    sa.Column("created_at", sa.BigInteger, nullable=False),
)

# Direct mail (0019): a flyer campaign to every letterbox of chosen areas, priced per piece.
post_direct_mail_campaigns = sa.Table(
    "post_direct_mail_campaigns",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("account_id", sa.Integer, nullable=False),
    sa.Column("user_id", sa.Integer, nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("size", sa.String(8), nullable=False),  # A5 | DL
    sa.Column("file_keys", sa.JSON, nullable=False),
    sa.Column("areas", sa.JSON, nullable=False),  # [{location_id, quantity, price_micros}]
    sa.Column("total_quantity", sa.Integer, nullable=False),
    sa.Column("price_micros", sa.BigInteger, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("schedule", sa.BigInteger, nullable=True),
    sa.Column("custom_string", sa.Text, nullable=True),
    sa.Column("source", sa.String(100), nullable=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Index("ix_post_direct_mail_campaigns_account", "account_id", "id"),
    sqlite_autoincrement=True,
)

# --- Reseller (0021) -------------------------------------------------------------------
# An account the operator made a reseller (`reseller` account option) and its branding and
# prices for its clients. The row appears with the first `PUT /v3/reseller`; until then
# the defaults of `reseller/program.py` apply.
resellers = sa.Table(
    "resellers",
    metadata,
    sa.Column(
        "account_id",
        sa.Integer,
        sa.ForeignKey("accounts.id", ondelete="CASCADE"),
        primary_key=True,
        autoincrement=False,
    ),
    # Lower case, unique: `GET /v3/reseller/{subdomain}` finds the branding by it.
    sa.Column("subdomain", sa.String(63), nullable=True, unique=True),
    sa.Column("company_name", sa.String(200), nullable=False, server_default=""),
    sa.Column("colour_navigation", sa.String(16), nullable=False, server_default=""),
    sa.Column("logo_url_light", sa.String(2000), nullable=False, server_default=""),
    sa.Column("logo_url_dark", sa.String(2000), nullable=False, server_default=""),
    sa.Column("allow_public_signups", sa.Boolean, nullable=False, server_default=sa.false()),
    # Margins in hundredths of a percent (1000 = 10 %): exact integers, no float drift.
    sa.Column("default_margin_bp", sa.Integer, nullable=False, server_default="0"),
    sa.Column("default_margin_numbers_bp", sa.Integer, nullable=False, server_default="0"),
    # Credit moved from the reseller to each new client (a transfer, never minted).
    sa.Column("trial_balance_micros", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
)

# Each client account belongs to exactly one reseller (a separate account, not a user of
# the reseller's). Deleting either account removes the link.
reseller_clients = sa.Table(
    "reseller_clients",
    metadata,
    sa.Column(
        "client_account_id",
        sa.Integer,
        sa.ForeignKey("accounts.id", ondelete="CASCADE"),
        primary_key=True,
        autoincrement=False,
    ),
    sa.Column(
        "reseller_account_id",
        sa.Integer,
        sa.ForeignKey("accounts.id", ondelete="CASCADE"),
        nullable=False,
    ),
    # Signed up on the reseller's public page (`accounts-public`): a referral.
    sa.Column("public_signup", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Index("ix_reseller_clients_reseller", "reseller_account_id", "client_account_id"),
)


# --- Routing (0022): connectors, routes with failover, per-route prices -------------------
# A connector is one configured way out (an SMPP carrier, an upstream HTTP provider); a
# route sends matching messages to an ordered failover list of connectors. With no route
# at all, every channel keeps the transport its settings name (`DOVECOTE_TRANSPORTS`).
connectors = sa.Table(
    "connectors",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(64), nullable=False, unique=True),
    sa.Column("transport", sa.String(32), nullable=False),  # a `wiring.TRANSPORTS` name
    sa.Column("settings", sa.JSON, nullable=False),  # the transport's own settings
    sa.Column("throughput", sa.Float, nullable=False, server_default="0"),  # msg/s, 0 = none
    sa.Column("enabled", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
    sqlite_autoincrement=True,
)

routes = sa.Table(
    "routes",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("channel", sa.String(16), nullable=True),  # None: every channel
    sa.Column("prefix", sa.String(32), nullable=False, server_default=""),  # "+61" or ""
    sa.Column("country", sa.String(2), nullable=True),  # ISO code of the recipient
    sa.Column("sender", sa.String(320), nullable=True),  # exact `from`
    sa.Column("account_id", sa.Integer, nullable=True),  # an account or subaccount
    sa.Column("priority", sa.Integer, nullable=False, server_default="0"),  # higher first
    sa.Column("connectors", sa.JSON, nullable=False),  # ordered failover list of names
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sqlite_autoincrement=True,
)

# One row, bumped by every connector or route change: workers reload their cached
# routing table when it moves (one indexed read per refresh interval, not per message).
routing_version = sa.Table(
    "routing_version",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("version", sa.BigInteger, nullable=False),
)

# Which connector accepted a message, written before the outcome is: a message retried
# after a crash goes back to that connector's record instead of out a second time.
message_connectors = sa.Table(
    "message_connectors",
    metadata,
    sa.Column("message_id", sa.String(36), primary_key=True),
    sa.Column("connector", sa.String(64), nullable=False),
    sa.Column("transport_ref", sa.String(200), nullable=True),
    sa.Column("accepted_at", sa.BigInteger, nullable=False),
    sa.Index("ix_message_connectors_ref", "transport_ref"),
)

# What a message costs when it leaves through a connector, by recipient prefix (longest
# wins); absent, the price book's price stands.
route_prices = sa.Table(
    "route_prices",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("connector", sa.String(64), nullable=False),
    sa.Column("channel", sa.String(16), nullable=False),
    sa.Column("prefix", sa.String(32), nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),  # the accounts it applies to
    sa.Column("price_micros", sa.BigInteger, nullable=False),  # per unit (an SMS part)
    sa.UniqueConstraint("connector", "channel", "prefix", "currency", name="uq_route_prices"),
    sqlite_autoincrement=True,
)

# Delivery receipts an http connector's upstream pushed (migration 0028), queued by the
# callback endpoint and applied by the worker (`transports/http/receipts.py`): `pending`
# until applied (then deleted), `unmatched` when no message took that upstream id in time.
provider_receipts = sa.Table(
    "provider_receipts",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("connector", sa.String(64), nullable=False),
    sa.Column("upstream_id", sa.String(200), nullable=False),
    sa.Column("status_code", sa.Integer, nullable=False),
    sa.Column("error_text", sa.Text, nullable=True),
    sa.Column("state", sa.String(16), nullable=False),  # pending | unmatched
    sa.Column("received_at", sa.Float, nullable=False),
    sa.Index("ix_provider_receipts_state", "state", "received_at"),
)

# Each connector's health, shared by every worker process (0027): a connector one worker
# puts in cool-down is skipped by all. Written on state transitions (a failed hand-over,
# the first good one after failures) and by counter flushes every routing refresh, never
# once per message. Times are Unix seconds (wall clock: several machines read them).
connector_health = sa.Table(
    "connector_health",
    metadata,
    sa.Column("connector", sa.String(64), primary_key=True),
    sa.Column("failures", sa.Integer, nullable=False, server_default="0"),  # consecutive
    sa.Column("down_until", sa.Float, nullable=False, server_default="0"),
    sa.Column("downs", sa.Integer, nullable=False, server_default="0"),  # cool-downs begun
    sa.Column("last_error", sa.Text, nullable=False, server_default=""),
    sa.Column("last_failure_at", sa.Float, nullable=True),
    # Messages handed to the connector, by outcome, summed over every worker.
    sa.Column("sent", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("delivered", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("failed", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("expired", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("deferred", sa.BigInteger, nullable=False, server_default="0"),
)


# --- dashboard (0023) ------------------------------------------------------------------

# Signed-in dashboard sessions, kept server-side so that logout (or a password change)
# ends them at once. Only a SHA-256 of the cookie's token is stored, as for API keys: a
# leaked table grants no session. `password_check` is a hash of the user's password hash
# at sign-in; a different one later means the password changed, and the session is over.
dashboard_sessions = sa.Table(
    "dashboard_sessions",
    metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    sa.Column("csrf_token", sa.String(64), nullable=False),
    sa.Column("password_check", sa.String(64), nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("expires_at", sa.BigInteger, nullable=False),
    sa.Index("ix_dashboard_sessions_user", "user_id"),
    sa.Index("ix_dashboard_sessions_expires", "expires_at"),
)

# The dashboard's Messages page lists every channel of an account newest first, a page
# after a (created_at, id) cursor: this index answers it without a sort, at any depth.
sa.Index(
    "ix_messages_account_created_id", messages.c.account_id, messages.c.created_at, messages.c.id
)
# Searching a number finds outbound rows by recipient (`ix_messages_throttle`) and
# inbound ones by sender, here. Partial: only inbound rows, so sends pay nothing for it.
sa.Index(
    "ix_messages_inbound_sender",
    messages.c.account_id,
    messages.c.sender,
    sqlite_where=messages.c.direction == "in",
    postgresql_where=messages.c.direction == "in",
)
# A message's replies (its page lists them; inbound SMS thread by it). Partial: only
# replies carry the column, so the index is as small as the inbound traffic.
sa.Index(
    "ix_messages_original",
    messages.c.original_message_id,
    sqlite_where=messages.c.original_message_id.is_not(None),
    postgresql_where=messages.c.original_message_id.is_not(None),
)


# --- Money (0020): the ledger, recharge transactions and saved payment cards ---------------

# Every change of `accounts.balance_micros` writes one row here in the same transaction,
# so an account's balance always equals the sum of its entries (docs/billing.md).
ledger_entries = sa.Table(
    "ledger_entries",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("account_id", sa.Integer, nullable=False),
    sa.Column("amount_micros", sa.BigInteger, nullable=False),  # signed: + credit, - debit
    # The balance right after this entry: a statement without re-summing history, and a
    # check (each row's balance = the previous row's + its amount) on the entries.
    sa.Column("balance_after_micros", sa.BigInteger, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("kind", sa.String(24), nullable=False),  # billing.ledger.KINDS
    sa.Column("reference", sa.String(200), nullable=False, server_default=""),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Index("ix_ledger_entries_account", "account_id", "id"),
    sqlite_autoincrement=True,
)

# The card an account recharges with: the provider's token and what may be shown again.
# Never the card number nor the CVC (billing/payments.py).
payment_cards = sa.Table(
    "payment_cards",
    metadata,
    sa.Column("account_id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("provider", sa.String(32), nullable=False),
    sa.Column("token", sa.String(200), nullable=False),
    sa.Column("last4", sa.String(4), nullable=False),
    sa.Column("brand", sa.String(32), nullable=False),
    sa.Column("expiry_month", sa.Integer, nullable=False),
    sa.Column("expiry_year", sa.Integer, nullable=False),
    sa.Column("name", sa.String(200), nullable=False, server_default=""),
    sa.Column("bank_name", sa.String(200), nullable=False, server_default=""),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
)

# A recharge: one paid package; its id is ClickSend's `invoice_number`.
recharge_transactions = sa.Table(
    "recharge_transactions",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("account_id", sa.Integer, nullable=False),
    sa.Column("user_id", sa.Integer, nullable=False),
    sa.Column("package_id", sa.Integer, nullable=False),
    sa.Column("amount_micros", sa.BigInteger, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("provider", sa.String(32), nullable=False),
    sa.Column("charge_id", sa.String(200), nullable=False),
    sa.Column("card_last4", sa.String(4), nullable=False),
    sa.Column("card_brand", sa.String(32), nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Index("ix_recharge_transactions_account", "account_id", "created_at"),
)

# An account's scripted sandbox outcomes (`pipeline/sandbox_scripts.py`), ahead of the
# settings' rules: `kind` "rule" (`outcome` in the rules' grammar, e.g. `failed:302`) or
# "reply" (`outcome` is the auto-reply's text). First added, first matched.
sandbox_scripts = sa.Table(
    "sandbox_scripts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("account_id", sa.Integer, nullable=False),
    sa.Column("kind", sa.String(8), nullable=False),
    sa.Column("prefix", sa.String(64), nullable=False),
    sa.Column("outcome", sa.String(1000), nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Index("ix_sandbox_scripts_account", "account_id", "kind"),
    sqlite_autoincrement=True,
)

# One row, bumped by every change to `sandbox_scripts`: sandboxes reread the scripts only
# when it moves (one indexed read per refresh interval, not per message).
sandbox_scripts_version = sa.Table(
    "sandbox_scripts_version",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("version", sa.BigInteger, nullable=False),
)
