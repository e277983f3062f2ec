"""Reading a captured email for the inbox: parts, headers, attachments, one-time codes,
and the HTML made safe to show.

The HTML is shown in an `<iframe sandbox>` without `allow-scripts` and served with its
own Content-Security-Policy (`preview_csp`): no script runs even if the frame is opened
on its own, nothing is fetched from outside unless the user asks for remote images,
and links open in a new tab (a `<base target="_blank">`, which the sandbox's
`allow-popups` lets through). The HTML itself is not rewritten beyond that one tag:
the browser's sandbox, not a sanitiser, is what keeps it harmless.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from urllib.parse import quote

# Four to eight digits standing alone: what one-time codes look like (EmailVerify's
# are six). Years and prices also match sometimes; a highlight costs nothing.
# A full stop or comma after the code ends the sentence; between digits it is a number.
CODE = re.compile(r"(?<![\w/-])(?<!\d[.,:])\d{4,8}(?![\w/-]|[.,:]\d)")


@dataclass(frozen=True, slots=True)
class Attachment:
    filename: str
    content_type: str
    size: int


@dataclass(frozen=True, slots=True)
class ReadMail:
    subject: str
    sender: str
    to: str
    headers: list[tuple[str, str]]
    text: str | None
    html: str | None
    attachments: list[Attachment] = field(default_factory=list)
    codes: list[str] = field(default_factory=list)
    remote_images: bool = False


_REMOTE = re.compile(r"""(?:src|background)\s*=\s*["']?\s*(?:https?:)?//""", re.IGNORECASE)


def read(source: bytes) -> ReadMail:
    parsed = message_from_bytes(source, policy=policy.default)
    assert isinstance(parsed, EmailMessage)  # policy.default builds EmailMessage
    text = _content(parsed, "plain")
    html = _content(parsed, "html")
    attachments = [described for described, _ in _attachments(parsed)]
    subject = str(parsed.get("subject", ""))
    seen = CODE.findall(subject + "\n" + (text or _strip_tags(html or "")))
    return ReadMail(
        subject=subject,
        sender=str(parsed.get("from", "")),
        to=str(parsed.get("to", "")),
        headers=[(name, str(value)) for name, value in parsed.items()],
        text=text,
        html=html,
        attachments=attachments,
        codes=list(dict.fromkeys(seen)),
        remote_images=bool(html and _REMOTE.search(html)),
    )


def _attachments(message: EmailMessage) -> list[tuple[Attachment, bytes]]:
    found = []
    for part in message.iter_attachments():
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        described = Attachment(
            part.get_filename() or "(unnamed)", part.get_content_type(), len(data)
        )
        found.append((described, data))
    return found


def attachment(source: bytes, number: int) -> tuple[Attachment, bytes] | None:
    """The `number`th attachment (from 1, the order `read` lists them) and its bytes."""
    parsed = message_from_bytes(source, policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    found = _attachments(parsed)
    return found[number - 1] if 1 <= number <= len(found) else None


# What a downloaded file may be called: no path, no quotes or controls. The name is the
# sender's to choose; a header must never carry it raw.
_UNSAFE = re.compile(r'[\x00-\x1f\x7f"\\/:*?<>|;]+')


def download_name(filename: str) -> str:
    """`Content-Disposition: attachment` with a safe name: an ASCII fallback and the
    UTF-8 name (RFC 6266/5987). Never `inline`: a browser never renders it, HTML included."""
    name = _UNSAFE.sub("_", filename).strip(" .") or "attachment"
    name = name[-200:]
    fallback = name.encode("ascii", "replace").decode("ascii").replace("?", "_")
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def _content(message: EmailMessage, subtype: str) -> str | None:
    part = message.get_body(preferencelist=(subtype,))
    if part is None:
        return None
    try:
        return str(part.get_content())
    except (LookupError, ValueError):  # an unknown charset: show what decodes
        payload = part.get_payload(decode=True)
        return payload.decode("utf-8", "replace") if isinstance(payload, bytes) else None


def _strip_tags(html: str) -> str:
    return re.sub(r"<[^>]*>", " ", html)


def preview_document(html: str) -> str:
    """The HTML with links opening in a new tab (a leading `<base>` wins over none)."""
    return '<base target="_blank">' + html


def preview_csp(remote_images: bool) -> str:
    images = "img-src data: cid: https: http:" if remote_images else "img-src data: cid:"
    # `sandbox` here too: the document opened outside its iframe is still sandboxed.
    return (
        f"default-src 'none'; style-src 'unsafe-inline'; {images}; font-src data:; "
        "frame-ancestors 'self'; form-action 'none'; "
        "sandbox allow-popups allow-popups-to-escape-sandbox"
    )


def highlight(text: str) -> list[tuple[str, bool]]:
    """`text` cut into (piece, is_code) runs, for the template to mark the codes."""
    pieces: list[tuple[str, bool]] = []
    last = 0
    for match in CODE.finditer(text):
        pieces.append((text[last : match.start()], False))
        pieces.append((match.group(), True))
        last = match.end()
    pieces.append((text[last:], False))
    return pieces
