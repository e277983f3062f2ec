"""Email Activity CSV downloads: request one (a job row a worker will run, see
`activity/export.py`), then hand out a signed link that works for three days.

Downloads need the extended-history option, as SendGrid's add-on does. A download
belongs to the user who asked for it; the account's main user sees all of them.
"""

from __future__ import annotations

import time

from sqlalchemy.ext.asyncio import AsyncConnection

from dovecote.activity import export as exports
from dovecote.activity import export_store as jobs
from dovecote.activity import retention, store
from dovecote.activity import search as activity
from dovecote.core.errors import Forbidden, NotFound
from dovecote.core.models import Principal
from dovecote.files.store import FileStore
from dovecote.settings import Settings

INVALID = "download token is invalid or expired"  # SendGrid's wording


def check_request(principal: Principal, settings: Settings, query: str | None) -> store.Window:
    """The caller's window, if it may download and the query is valid: 403 without the
    extended-history option, 400 for a bad query. The API checks this before it counts
    the request against the download rate limit, so that only accepted requests count."""
    if not retention.has_extended_history(principal.account.settings):
        raise Forbidden(
            "CSV downloads need the extended Email Activity history option "
            f"({settings.activity_extended_days} days); it is not enabled for this account."
        )
    scope = activity.window(principal, settings)
    activity.compile_query(query, scope)  # a bad query is a 400 now, not a failed job later
    return scope


async def request_download(
    conn: AsyncConnection, principal: Principal, settings: Settings, query: str | None
) -> exports.Export:
    """Check the request (`check_request`); queue the export in the request's
    transaction (a worker writes it and mails the link)."""
    scope = check_request(principal, settings, query)
    return await exports.request(
        conn,
        account_id=principal.account.id,
        user_id=principal.user.id,
        scope_user_id=scope.user_id,
        query=query,
        since=scope.since,
        email=principal.user.email or principal.account.billing_email,
        ttl=settings.export_link_ttl,
    )


def pending_message(export: exports.Export) -> str:
    if export.email:
        return f"An email will be sent to {export.email} when the CSV is ready to download."
    return (
        "No email address is on file for this user; fetch "
        f"GET /v3/messages/download/{export.uuid} when the CSV is ready."
    )


async def get_download(
    conn: AsyncConnection,
    principal: Principal,
    settings: Settings,
    download_uuid: str,
    base_url: str | None = None,
) -> str:
    """The signed link of a finished download of the caller's."""
    export = await exports.load(conn, download_uuid)
    if (
        export is None
        or export.account_id != principal.account.id
        or (not principal.user.is_main and export.user_id != principal.user.id)
        or export.expires_at < time.time()
    ):
        raise NotFound(INVALID, field="download_uuid")
    if export.status in (jobs.PENDING, jobs.RUNNING):
        raise NotFound("the CSV is not ready yet; try again shortly", field="download_uuid")
    if export.status == jobs.FAILED:
        raise NotFound("the CSV could not be written; request a new one", field="download_uuid")
    return exports.presigned_url(settings, export, base_url)


async def open_csv(
    conn: AsyncConnection,
    settings: Settings,
    files: FileStore,
    download_uuid: str,
    expires: str,
    signature: str,
) -> tuple[FileStore, str]:
    """Check a presigned link; return the store and key of the gzip CSV it grants."""
    export = await exports.load(conn, download_uuid)
    if export is None or export.status != jobs.READY or not export.file_path:
        raise NotFound(INVALID)
    if not exports.signature_valid(settings, export, expires, signature):
        raise NotFound(INVALID)
    where, key = exports.stored_at(files, settings, export.file_path)
    if not await where.exists(key):
        raise NotFound(INVALID)
    return where, key
