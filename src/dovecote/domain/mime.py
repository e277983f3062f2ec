"""Building the exact bytes of an email with the standard library's `email` package.

The shape is the one mail clients expect:

    multipart/mixed                       only when there are attachments
     ├── multipart/alternative
     │    ├── text/plain                  derived from the HTML when not given
     │    └── multipart/related           only when inline parts have a Content-ID
     │         ├── text/html
     │         └── image/png …            referenced as cid:… from the HTML
     └── application/pdf …                attachments

`email.policy.SMTP` does the encodings: RFC 2047 for non-ASCII display names and
subjects, RFC 2231 for non-ASCII filenames, quoted-printable or base64 bodies, CRLF
line endings and folded headers.
"""

from __future__ import annotations

import email.policy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from html.parser import HTMLParser
from typing import Literal

POLICY = email.policy.SMTP

# Headers the builder owns; caller-supplied headers cannot replace them.
RESERVED_HEADERS = frozenset(
    {
        "from",
        "to",
        "cc",
        "bcc",
        "reply-to",
        "subject",
        "date",
        "message-id",
        "mime-version",
        "content-type",
        "content-transfer-encoding",
        "content-disposition",
    }
)


@dataclass(frozen=True, slots=True)
class Mailbox:
    """An address with an optional display name; `email` is already validated."""

    email: str
    name: str | None = None

    def header(self) -> Address:
        local, _, domain = self.email.rpartition("@")
        return Address(display_name=one_line(self.name or ""), username=local, domain=domain)


@dataclass(frozen=True, slots=True)
class Attachment:
    content: bytes = field(repr=False)
    filename: str
    type: str = "application/octet-stream"
    disposition: Literal["attachment", "inline"] = "attachment"
    content_id: str | None = None  # without angle brackets

    @property
    def maintype(self) -> str:
        return self.type.partition("/")[0]

    @property
    def subtype(self) -> str:
        return self.type.partition("/")[2]


@dataclass(frozen=True, slots=True)
class Content:
    """Everything that goes into one message's bytes."""

    message_id: str  # without angle brackets
    sender: Mailbox
    to: Sequence[Mailbox]
    subject: str
    html: str | None = None
    text: str | None = None
    cc: Sequence[Mailbox] = ()
    reply_to: Mailbox | None = None
    attachments: Sequence[Attachment] = ()
    headers: Mapping[str, str] = field(default_factory=dict)
    date: float | None = None


def one_line(value: str) -> str:
    """Header text without CR/LF: the policy refuses them (header injection), so a stray
    newline in a subject or name becomes a space instead of a failed send."""
    return " ".join(value.splitlines()).strip()


def content_id(raw: str) -> str:
    """ClickSend clients send `text`, `<text>` or `<cid:text>`; the header wants `<text>`."""
    value = raw.strip().strip("<>").strip()
    return value[4:] if value.lower().startswith("cid:") else value


def build(content: Content) -> bytes:
    msg = EmailMessage(policy=POLICY)
    msg["Message-ID"] = f"<{content.message_id}>"
    moment = datetime.fromtimestamp(content.date, UTC) if content.date else datetime.now(UTC)
    msg["Date"] = format_datetime(moment)
    msg["From"] = content.sender.header()
    if content.to:
        msg["To"] = [mailbox.header() for mailbox in content.to]
    if content.cc:
        msg["Cc"] = [mailbox.header() for mailbox in content.cc]
    if content.reply_to is not None:
        msg["Reply-To"] = content.reply_to.header()
    msg["Subject"] = one_line(content.subject)
    for name, value in content.headers.items():
        if name.lower() not in RESERVED_HEADERS:
            msg[one_line(name)] = one_line(value)
    # Bcc recipients exist only in the SMTP envelope: a Bcc header would reveal them.

    related = [a for a in content.attachments if a.disposition == "inline" and a.content_id]
    others = [a for a in content.attachments if a not in related]
    text = content.text if content.text is not None else html_to_text(content.html or "")
    msg.set_content(text, subtype="plain", charset="utf-8")
    if content.html is not None:
        msg.add_alternative(content.html, subtype="html", charset="utf-8")
        html_part = list(msg.iter_parts())[1]
        for item in related:
            html_part.add_related(
                item.content,
                maintype=item.maintype,
                subtype=item.subtype,
                cid=f"<{item.content_id}>",
                filename=item.filename,
                disposition="inline",
            )
    else:
        others = list(content.attachments)  # no HTML to reference them from
    for item in others:
        msg.add_attachment(
            item.content,
            maintype=item.maintype,
            subtype=item.subtype,
            filename=item.filename,
            disposition=item.disposition,
            cid=f"<{item.content_id}>" if item.content_id else None,
        )
    for part in msg.walk():
        if part is not msg:
            del part[
                "MIME-Version"
            ]  # the add_* helpers stamp it on every part; only the top needs it
    return msg.as_bytes(policy=POLICY)


# --- HTML → text ---------------------------------------------------------------------

_BLOCK = frozenset(
    {
        "address",
        "article",
        "aside",
        "blockquote",
        "div",
        "dl",
        "fieldset",
        "figure",
        "footer",
        "form",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hr",
        "main",
        "nav",
        "ol",
        "p",
        "pre",
        "section",
        "table",
        "tr",
        "ul",
    }
)
_SKIP = frozenset({"head", "script", "style", "title", "template", "noscript"})


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self.current: list[str] = []
        self.skipping = 0
        self.pre = 0
        self.links: list[str | None] = []

    def _break(self) -> None:
        line = "".join(self.current)
        self.lines.append(line if self.pre else " ".join(line.split()))
        self.current = []

    def _paragraph(self) -> None:
        self._break()
        if self.lines and self.lines[-1] != "":
            self.lines.append("")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self.skipping += 1
        elif tag == "br":
            self._break()
        elif tag == "li":
            self._break()
            self.current.append("- ")
        elif tag in ("td", "th"):
            self.current.append(" ")
        elif tag in _BLOCK:
            self._paragraph()
            if tag == "pre":
                self.pre += 1
        elif tag == "a":
            self.links.append(dict(attrs).get("href"))
        elif tag == "img":
            alt = dict(attrs).get("alt")
            if alt:
                self.current.append(alt)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            return  # a self-closed <script/> opens nothing
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self.skipping = max(0, self.skipping - 1)
        elif tag in _BLOCK:
            self._paragraph()
            if tag == "pre":
                self.pre = max(0, self.pre - 1)
        elif tag == "a" and self.links:
            href = self.links.pop()
            text = "".join(self.current).rstrip()
            # Show where a link goes unless its text already says so.
            if href and href.startswith(("http://", "https://")) and not text.endswith(href):
                self.current.append(f" ({href})")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.current.append(data)

    def text(self) -> str:
        self.close()
        self._break()
        out: list[str] = []
        for line in self.lines:
            if line or (out and out[-1]):
                out.append(line.rstrip())
        return "\n".join(out).strip("\n") + "\n"


def html_to_text(html: str) -> str:
    """A readable plain-text alternative: paragraphs, line breaks, list items, link
    targets; scripts, styles and the head dropped; entities decoded."""
    parser = _TextExtractor()
    parser.feed(html)
    return parser.text()
