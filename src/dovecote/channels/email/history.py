"""Email history: one entry per email (not per recipient), and its CSV export.

An email's first recipient row stands for it (`group_id IS NULL`); its payload holds the
whole request (to, cc, bcc, from name, attachment names), and the group's rows are
summed for the price and bounce counts. The export is the SMS history's mechanism — a
signed link streaming CSV — with the link marked for this channel.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from dovecote.channels.email import store
from dovecote.channels.email.compose import DROPPED, QueuedEmail
from dovecote.channels.email.mime import html_to_text
from dovecote.core.errors import Forbidden
from dovecote.core.models import Principal
from dovecote.pipeline import exports as history
from dovecote.pipeline import status as st
from dovecote.pipeline.scope import scope_for
from dovecote.storage.listing import ListQuery, Page

EXPORT_PATH = "/v3/email/history/export/download"
DEFAULT_FILENAME = "email-history.csv"
_EXPORT_KIND = "email"

STATUS_TEXT = {
    st.QUEUED: "Accepted for delivery",
    st.SENDING: "Being handed to the mail server",
    st.SENT: "Accepted by the mail server",
    st.DELIVERED: "Delivered",
    st.TEST: "Test address: nothing sent, nothing charged",
    st.CANCELLED: "Cancelled",
}


@dataclass(frozen=True, slots=True)
class EmailSummary:
    """An email as ClickSend's TransactionalEmail describes it."""

    message_id: str
    user_id: int
    username: str | None
    sender: str
    from_name: str | None
    from_email_address_id: int | None
    to: Sequence[Mapping[str, Any]]
    cc: Sequence[Mapping[str, Any]]
    bcc: Sequence[Mapping[str, Any]]
    subject: str
    body: str
    body_plain_text: str
    schedule: int | None
    status: str  # delivery_status word of the first recipient
    status_text: str
    price_micros: int
    soft_bounces: int
    hard_bounces: int
    created_at: int
    custom_string: str | None
    attachments: Sequence[Mapping[str, Any]] = field(default_factory=list)


def summary_of(queued: QueuedEmail, principal: Principal) -> EmailSummary:
    """What `/email/send` answers, straight from what was just queued."""
    email = queued.email
    first = queued.recipients[0]
    assert first.id is not None
    dropped = first.status == DROPPED
    status = st.FAILED if dropped else queued.status
    payload: dict[str, Any] = {
        "to": [{"email": b.email, "name": b.name} for b in email.to],
        "cc": [{"email": b.email, "name": b.name} for b in email.cc],
        "bcc": [{"email": b.email, "name": b.name} for b in email.bcc],
    }
    return EmailSummary(
        message_id=first.id,
        user_id=principal.user.id,
        username=principal.user.username,
        sender=email.sender.email,
        from_name=email.sender.name,
        from_email_address_id=email.from_email_address_id,
        to=payload["to"],
        cc=payload["cc"],
        bcc=payload["bcc"],
        subject=email.subject,
        body=first.body,
        body_plain_text=_plain(email.text, email.html),
        schedule=email.send_at,
        status=status,
        status_text=(
            f"Dropped: {first.extra['drop_reason']}" if dropped else STATUS_TEXT.get(status, "")
        ),
        price_micros=queued.price_micros,
        soft_bounces=0,
        hard_bounces=0,
        created_at=queued.created_at,
        custom_string=email.custom_string,
        attachments=[
            {
                "file_name": a.filename,
                "content_type": a.type,
                "content_disposition": a.disposition,
                "content_id": a.content_id,
            }
            for a in email.attachments
        ],
    )


def _plain(text: str | None, html: str | None) -> str:
    return text if text is not None else html_to_text(html or "")


def summary_from_row(row: Mapping[str, Any], totals: Mapping[str, int] | None) -> EmailSummary:
    payload: Mapping[str, Any] = row.get("payload") or {}
    totals = totals or {}
    status = row["status"]
    text = row["error_text"] if status in (st.FAILED, st.EXPIRED) else None
    if row.get("error_code") == "dropped":
        text = f"Dropped: {row['error_text']}"
    return EmailSummary(
        message_id=row["id"],
        user_id=int(row["user_id"]),
        username=row.get("username"),
        sender=row["sender"],
        from_name=payload.get("from_name"),
        from_email_address_id=payload.get("from_email_address_id"),
        to=payload.get("to") or [{"email": row["recipient"], "name": None}],
        cc=payload.get("cc") or [],
        bcc=payload.get("bcc") or [],
        subject=row["subject"] or "",
        body=row["body"],
        body_plain_text=payload.get("body_plain_text") or "",
        schedule=row["schedule"],
        status=status,
        status_text=text or STATUS_TEXT.get(status, row["status_text"] or ""),
        price_micros=int(totals.get("price", row["price_micros"])),
        soft_bounces=int(totals.get("soft", 0)),
        hard_bounces=int(totals.get("hard", 0)),
        created_at=int(row["created_at"]),
        custom_string=row["custom_string"],
        attachments=[
            {key: value for key, value in item.items() if key != "size"}
            for item in payload.get("attachments") or []
        ],
    )


async def list_history(
    conn: AsyncConnection,
    principal: Principal,
    params: ListQuery,
    *,
    date_from: int | None = None,
    date_to: int | None = None,
) -> tuple[Page, list[EmailSummary]]:
    """A page of emails the caller may see (the main user and `access_reporting` users
    see the account's, others their own), newest last as ClickSend lists them."""
    scope = scope_for(principal)
    page = await store.list_history(
        conn, scope.account_id, scope.user_id, params, date_from, date_to
    )
    totals = await store.group_totals(conn, [row["id"] for row in page.rows])
    return page, [summary_from_row(row, totals.get(row["id"])) for row in page.rows]


# --- export -----------------------------------------------------------------------------


def export_link(
    principal: Principal,
    params: ListQuery,
    *,
    date_from: int | None,
    date_to: int | None,
    filename: str | None,
    secret: str,
    base_url: str,
    ttl: int,
    now: int | None = None,
) -> str:
    """A signed URL streaming this history query as CSV for `ttl` seconds. The signed
    fields are SMS history's plus `kind=email`, so `history.open_export` checks them and
    an SMS link cannot be replayed here."""
    store.check_history_query(params)
    fields = {
        "kind": _EXPORT_KIND,
        "account": str(principal.account.id),
        "user": str(principal.user.id),
        "filename": history.clean_filename(filename or DEFAULT_FILENAME),
        "q": ",".join(f"{name}:{value}" for name, value in params.filters),
        "operator": params.operator,
        "date_from": "" if date_from is None else str(date_from),
        "date_to": "" if date_to is None else str(date_to),
    }
    fields = {name: value for name, value in fields.items() if value}
    # The same signed form as SMS export links, so one checker serves both.
    return history.signed_url(
        fields, path=EXPORT_PATH, secret=secret, base_url=base_url, ttl=ttl, now=now
    )


async def open_export(
    conn: AsyncConnection, query: Mapping[str, str], *, secret: str
) -> history.Export:
    """Check an email export link (expired → NotFound; altered → Forbidden)."""
    export = await history.open_export(conn, query, secret=secret)
    if query.get("kind") != _EXPORT_KIND:
        raise Forbidden("This export link is not valid.")
    return export


async def export_entries(
    engine: AsyncEngine, export: history.Export
) -> AsyncIterator[EmailSummary]:
    """Every email of the export, oldest first, read in chunks (flat memory)."""
    scope = export.scope
    rows = store.stream_history(
        engine, scope.account_id, scope.user_id, export.params, export.date_from, export.date_to
    )
    async for chunk in rows:
        async with engine.connect() as conn:
            totals = await store.group_totals(conn, [row["id"] for row in chunk])
        for row in chunk:
            yield summary_from_row(row, totals.get(row["id"]))
