"""Email Activity CSV downloads: request one, let the background job write it and mail
the link, then hand out a signed link that works for three days.

Downloads need the extended-history option, as SendGrid's add-on does. A download
belongs to the user who asked for it; the account's main user sees all of them.
"""

from __future__ import annotations

import html
import logging
import time
from urllib.parse import urlencode

from sqlalchemy.ext.asyncio import AsyncEngine

from dovecote.domain import activity, security
from dovecote.domain.errors import Forbidden, NotFound
from dovecote.domain.models import Principal
from dovecote.events import activity_export as exports
from dovecote.events import retention
from dovecote.settings import Settings

log = logging.getLogger("dovecote.activity_download")

INVALID = "download token is invalid or expired"  # SendGrid's wording


def _signed(export_id: str) -> str:
    return f"email-activity-csv:{export_id}"


def request_download(principal: Principal, settings: Settings, query: str | None) -> exports.Export:
    """Check the caller may download and the query is valid; record a pending export."""
    if not retention.has_extended_history(principal.account.settings):
        raise Forbidden(
            "CSV downloads need the extended Email Activity history option "
            f"({settings.activity_extended_days} days); it is not enabled for this account."
        )
    scope = activity.window(principal, settings)
    activity.compile_query(query, scope)  # a bad query is a 400 now, not a failed job later
    export = exports.new_export(
        account_id=principal.account.id,
        user_id=principal.user.id,
        scope_user_id=scope.user_id,
        query=query,
        since=scope.since,
        email=principal.user.email or principal.account.billing_email,
        ttl=settings.export_link_ttl,
    )
    exports.save(settings, export)
    return export


def pending_message(export: exports.Export) -> str:
    if export.email:
        return f"An email will be sent to {export.email} when the CSV is ready to download."
    return (
        "No email address is on file for this user; fetch "
        f"GET /v3/messages/download/{export.uuid} when the CSV is ready."
    )


async def run_download(engine: AsyncEngine, settings: Settings, export: exports.Export) -> None:
    """The background job: write the CSV, then mail the link through Dovecote's own
    email pipeline (free system mail, like sender verification)."""
    done = await exports.write_csv(engine, settings, export)
    if done.state != "ready" or not done.email:
        return
    try:
        await _mail_link(engine, settings, done)
    except Exception:  # a bad address, say: the CSV stays downloadable by its id
        log.exception("could not mail the link of activity export %s", done.uuid)


async def _mail_link(engine: AsyncEngine, settings: Settings, done: exports.Export) -> None:
    # Imported here: the email pipeline imports the event sinks, which import this package.
    from dovecote.domain.email import send_system_email

    link = presigned_url(settings, done)
    async with engine.begin() as conn:
        await send_system_email(
            conn,
            account_id=done.account_id,
            user_id=done.user_id,
            to=done.email,
            subject="Your Email Activity CSV is ready",
            html=(
                f"<p>Your Email Activity export ({done.rows} rows) is ready.</p>"
                f'<p><a href="{html.escape(link)}">Download the CSV</a> '
                "(the link works for 3 days).</p>"
                f"<p>Download id: {done.uuid}</p>"
            ),
            text=f"Your Email Activity export is ready: {link}\nDownload id: {done.uuid}\n",
            settings=settings,
        )


def presigned_url(settings: Settings, export: exports.Export) -> str:
    expires = int(export.expires_at)
    signature = security.sign(settings.secret_key, _signed(export.uuid), expires)
    query = urlencode({"expires": expires, "signature": signature})
    return f"{settings.public_url.rstrip('/')}/v3/messages/download/{export.uuid}/csv?{query}"


def get_download(principal: Principal, settings: Settings, download_uuid: str) -> str:
    """The signed link of a finished download of the caller's."""
    export = exports.load(settings, download_uuid)
    if (
        export is None
        or export.account_id != principal.account.id
        or (not principal.user.is_main and export.user_id != principal.user.id)
        or export.expires_at < time.time()
    ):
        raise NotFound(INVALID, field="download_uuid")
    if export.state == "pending":
        raise NotFound("the CSV is not ready yet; try again shortly", field="download_uuid")
    if export.state == "failed":
        raise NotFound("the CSV could not be written; request a new one", field="download_uuid")
    return presigned_url(settings, export)


def open_csv(settings: Settings, download_uuid: str, expires: str, signature: str) -> str:
    """Check a presigned link; return the path of the gzip CSV it grants."""
    export = exports.load(settings, download_uuid)
    try:
        expires_at = int(expires)
    except ValueError:
        expires_at = 0
    if export is None or export.state != "ready":
        raise NotFound(INVALID)
    if not security.verify_signature(
        settings.secret_key, _signed(export.uuid), expires_at, signature
    ):
        raise NotFound(INVALID)
    path = exports.csv_path(settings, export.uuid)
    if not path.is_file():
        raise NotFound(INVALID)
    return str(path)
