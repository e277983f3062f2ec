"""What each channel's message looks like on the upstream's `/v3/<channel>/send`.

SMS, voice, MMS and fax share ClickSend's shape — `{"messages": [...]}`, one answer per
message in `data.messages` — so one request carries many messages. MMS and fax add one
file for the whole request (`media_file`, `file_url`): the upstream fetches it from the
URL, so the transport groups a batch by file and links to the stored copy with a signed
`/files/…` link (`files.links`) under `DOVECOTE_PUBLIC_URL` (or the connector's
`link_base`), which the upstream must be able to reach. A link, not inline base64,
because neither ClickSend endpoint takes file content; it lives `LINK_TTL` seconds, long
enough for a scheduled send or a retry, and names one content-addressed file only.

Email goes to `/v3/email/send` (ClickSend's transactional email), one request per
message row: Dovecote keeps a row per recipient (to, cc and bcc alike), and an upstream
email per row keeps one upstream id per row for its receipt. Each goes to its one
recipient as `to` (a cc or bcc recipient does not see the others: the cost of 1:1
receipts), from the upstream account's verified address `email_address_id` (a connector
setting), with the row's subject and body and its MIME's attachments inline in base64,
as that endpoint takes them. ClickSend has no per-message email receipt to poll: email
through http settles with `receipts=push` (the upstream's email receipt rule).

Not carried (refused with the reason, so a route must not send them here): post letters
and postcards. No upstream offers a per-letter receipt to poll or a post receipt rule to
push one, so they could never settle here; they would also need the upstream's
return-address id.
"""

from __future__ import annotations

import base64
import email
import email.policy
from dataclasses import dataclass
from typing import Any

from dovecote.pipeline.transports.base import Job

LINK_TTL = 7 * 24 * 3600


@dataclass(frozen=True, slots=True)
class Shape:
    path: str
    file_field: str | None = None  # the request's one file: its field upstream
    file_payload: str | None = None  # and the stored key's name in `Job.payload`


SHAPES = {
    "sms": Shape("/v3/sms/send"),
    "voice": Shape("/v3/voice/send"),
    "mms": Shape("/v3/mms/send", "media_file", "media"),
    "fax": Shape("/v3/fax/send", "file_url", "document"),
}


def file_key(job: Job) -> str | None:
    """The stored file `job`'s request must link to; "" when its channel needs none,
    None when it needs one and has none (an MMS queued before payloads carried it)."""
    shape = SHAPES[job.channel]
    if shape.file_payload is None:
        return ""
    key = (job.payload or {}).get(shape.file_payload)
    return str(key) if key else None


def message(job: Job) -> dict[str, Any]:
    """One entry of the request's `messages`."""
    item: dict[str, Any] = {
        "source": "dovecote",
        "to": job.recipient,
        "custom_string": job.custom_string or "",
    }
    if job.channel != "fax":  # a fax's body is its document's key, not text to send
        item["body"] = job.body
    if job.sender and job.channel in ("sms", "mms", "fax"):
        item["from"] = job.sender
    if job.channel == "mms" and job.subject:
        item["subject"] = job.subject
    if job.channel == "voice":
        payload = job.payload or {}
        item.update(
            voice=payload.get("voice", "female"),
            lang=payload.get("lang", "en-us"),
            require_input=int(bool(payload.get("require_input"))),
            machine_detection=int(bool(payload.get("machine_detection"))),
        )
    return item


EMAIL_PATH = "/v3/email/send"


def email_request(job: Job, email_address_id: str) -> dict[str, Any]:
    """The `/v3/email/send` body of one email row (see the module doc)."""
    payload = job.payload or {}
    sender: dict[str, Any] = {"email_address_id": email_address_id}
    if payload.get("from_name"):
        sender["name"] = payload["from_name"]
    body: dict[str, Any] = {
        "to": [{"email": job.recipient}],
        "from": sender,
        "subject": job.subject or "",
        "body": job.body,
        "custom_string": job.custom_string or "",
    }
    attachments = _attachments(job.content) if job.content else []
    if attachments:
        body["attachments"] = attachments
    return body


def _attachments(content: bytes) -> list[dict[str, Any]]:
    message = email.message_from_bytes(content, policy=email.policy.default)
    found = []
    for part in message.iter_attachments():
        data = part.get_payload(decode=True)
        if not isinstance(data, bytes):
            continue
        item: dict[str, Any] = {
            "content": base64.b64encode(data).decode(),
            "type": part.get_content_type(),
            "filename": part.get_filename() or "attachment",
            "disposition": part.get_content_disposition() or "attachment",
        }
        if part["Content-ID"]:
            item["content_id"] = str(part["Content-ID"]).strip("<>")
        found.append(item)
    return found
