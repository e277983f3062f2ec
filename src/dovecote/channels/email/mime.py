"""Building the exact bytes of an email with the standard library's `email` package.

The shape is the one mail clients expect:

    multipart/mixed                       only when there are attachments
     ├── multipart/alternative
     │    ├── text/plain                  derived from the HTML when not given
     │    └── multipart/related           only when inline parts have a Content-ID
     │         ├── text/html
     │         └── image/png …            referenced as cid:… from the HTML
     └── application/pdf …                attachments

The encodings: RFC 2047 encoded words for non-ASCII display names and subjects, RFC
2231 for non-ASCII filenames, 7bit or quoted-printable text, base64 attachments, CRLF
line endings and headers folded at 78 columns.
"""

from __future__ import annotations

import email.policy
import secrets
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from email import charset, encoders
from email.header import Header
from email.message import Message
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from email.mime.nonmultipart import MIMENonMultipart
from email.mime.text import MIMEText
from email.utils import formataddr, formatdate
from html.parser import HTMLParser
from typing import Any, Literal


class _Policy(email.policy.Compat32):
    """compat32 with CRLF, skipping the folding machinery (a Header object per header,
    ~0.1 ms each) for the usual short ASCII header that needs no folding at all."""

    def fold_binary(self, name: str, value: Any) -> bytes:
        if (
            isinstance(value, str)
            and value.isascii()
            and len(name) + len(value) + 2 <= 78
            and "\r" not in value
            and "\n" not in value
        ):
            return f"{name}: {value}{self.linesep}".encode("ascii")
        return super().fold_binary(name, value)


# The classic (compat32) API: the modern EmailMessage one re-parses every header it
# sets, which measured ~10 ms per message here. CRLF as SMTP sends it.
POLICY = _Policy(linesep="\r\n")
_UTF8_QP = charset.Charset("utf-8")
_UTF8_QP.body_encoding = charset.QP

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

    def formatted(self) -> str:
        """`Name <addr>`, the name quoted or RFC 2047-encoded as it needs."""
        return formataddr((one_line(self.name or ""), self.email), charset="utf-8")


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
    """The message's exact bytes (CRLF line endings), ready for DATA."""
    headers: list[tuple[str, str | Header]] = [
        ("Message-ID", f"<{content.message_id}>"),
        ("Date", formatdate(content.date if content.date else time.time(), usegmt=True)),
        ("From", content.sender.formatted()),
    ]
    if content.to:
        headers.append(("To", ", ".join(mailbox.formatted() for mailbox in content.to)))
    if content.cc:
        headers.append(("Cc", ", ".join(mailbox.formatted() for mailbox in content.cc)))
    if content.reply_to is not None:
        headers.append(("Reply-To", content.reply_to.formatted()))
    headers.append(("Subject", _text_header(one_line(content.subject), "Subject")))
    for name, value in content.headers.items():
        if name.lower() not in RESERVED_HEADERS:
            headers.append((one_line(name), _text_header(one_line(value), name)))
    # Bcc recipients exist only in the SMTP envelope: a Bcc header would reveal them.

    related = [a for a in content.attachments if a.disposition == "inline" and a.content_id]
    others = [a for a in content.attachments if a not in related]
    text = content.text if content.text is not None else html_to_text(content.html or "")
    body: Message = _text_part(text, "plain")
    if content.html is not None:
        html: Message = _text_part(content.html, "html")
        if related:
            html = _multipart("related", [html, *(_attachment(a) for a in related)])
        body = _multipart("alternative", [body, html])
    else:
        others = list(content.attachments)  # no HTML to reference them from
    if others:
        body = _multipart("mixed", [body, *(_attachment(a) for a in others)])
    # Envelope headers first, then MIME-Version and the body's own Content-* headers.
    top: Message[str, str | Header] = Message()
    for header, header_value in headers:
        top[header] = header_value
    top["MIME-Version"] = "1.0"
    for header, part_value in body.items():
        if header.lower() != "mime-version":
            top[header] = part_value
    top.set_payload(body.get_payload())
    return top.as_bytes(policy=POLICY)


def _text_header(value: str, name: str) -> str | Header:
    # RFC 2047 encoded words only when needed: plain ASCII stays readable.
    return value if value.isascii() else Header(value, "utf-8", header_name=name)


def _text_part(body: str, subtype: str) -> MIMENonMultipart:
    """7bit when the text is ASCII with lines SMTP accepts (998 octets), otherwise UTF-8
    in quoted-printable — readable in a raw view, unlike base64, and wrapped at 76."""
    text = body.replace("\r\n", "\n").replace("\r", "\n")
    part: MIMENonMultipart
    if text.isascii() and all(len(line) <= 998 for line in text.split("\n")):
        part = MIMEText(text, subtype, "us-ascii")
    else:
        part = MIMENonMultipart("text", subtype, charset="utf-8")
        part.set_payload(text, _UTF8_QP)
    del part["MIME-Version"]
    return part


def _multipart(subtype: str, parts: Sequence[Message]) -> MIMEMultipart:
    # A random boundary chosen here spares the generator its scan of every part for a
    # collision; 96 random bits cannot plausibly occur in the content.
    multipart = MIMEMultipart(subtype, boundary=f"=_{secrets.token_hex(12)}", _subparts=parts)
    del multipart["MIME-Version"]
    return multipart


def _attachment(item: Attachment) -> MIMEBase:
    part = MIMEBase(item.maintype, item.subtype)
    del part["MIME-Version"]
    part.set_payload(item.content)
    encoders.encode_base64(part)
    # RFC 2231 (filename*=utf-8''…) for names that are not plain ASCII.
    filename: str | tuple[str, str, str] = (
        item.filename if item.filename.isascii() else ("utf-8", "", item.filename)
    )
    part.add_header("Content-Disposition", item.disposition, filename=filename)
    if item.content_id:
        part["Content-ID"] = f"<{item.content_id}>"
    return part


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
