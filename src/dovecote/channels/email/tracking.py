"""Open and click tracking: instrumenting an email's HTML, and checking the hits.

Links are found with the standard library's HTML parser, so anchors inside comments,
scripts, styles or attribute values are left alone, and only the anchor tags themselves
are re-serialised: the rest of the document keeps its exact bytes.

Every tracking URL is signed (`security.sign`) over the message id, the kind and — for
clicks — the destination, so the redirect can never be pointed anywhere else (no open
redirect) and a forged or altered link records nothing.
"""

from __future__ import annotations

import html
import time
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any, Literal
from urllib.parse import urlencode

from sqlalchemy.ext.asyncio import AsyncConnection

from dovecote.channels.email import store
from dovecote.core import security
from dovecote.core.errors import NotFound
from dovecote.pipeline.events import Event, EventLog

OPEN_PATH = "/t/open/{message_id}.gif"
CLICK_PATH = "/t/click/{message_id}"
# Smallest transparent GIF (43 bytes).
PIXEL = (
    b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00"
    b",\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
)
_TRACKED_SCHEMES = ("http://", "https://")

CHANNEL = "email"


@dataclass(frozen=True, slots=True)
class Signer:
    """Signs the tracking URLs of one message; every URL of it shares one expiry."""

    secret: str
    base_url: str
    expires_at: int

    def open_url(self, message_id: str) -> str:
        signature = security.sign(self.secret, _open_payload(message_id), self.expires_at)
        query = urlencode({"e": self.expires_at, "s": signature})
        return f"{self.base_url.rstrip('/')}{OPEN_PATH.format(message_id=message_id)}?{query}"

    def click_url(self, message_id: str, url: str) -> str:
        signature = security.sign(self.secret, _click_payload(message_id, url), self.expires_at)
        query = urlencode({"u": url, "e": self.expires_at, "s": signature})
        return f"{self.base_url.rstrip('/')}{CLICK_PATH.format(message_id=message_id)}?{query}"


def _open_payload(message_id: str) -> str:
    return f"open|{message_id}"


def _click_payload(message_id: str, url: str) -> str:
    return f"click|{message_id}|{url}"


# --- rewriting --------------------------------------------------------------------


class _Anchors(HTMLParser):
    """Collects where each `<a href>` start tag and the last `</body>` sit in the source."""

    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=True)
        self.line_starts = [0]
        for index, char in enumerate(source):
            if char == "\n":
                self.line_starts.append(index + 1)
        self.anchors: list[tuple[int, str, list[tuple[str, str | None]], bool]] = []
        self.body_end: int | None = None

    def _offset(self) -> int:
        line, column = self.getpos()
        return self.line_starts[line - 1] + column

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            text = self.get_starttag_text() or ""
            self.anchors.append((self._offset(), text, attrs, text.rstrip().endswith("/>")))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag == "body":
            self.body_end = self._offset()


def _start_tag(attrs: list[tuple[str, str | None]], self_closing: bool) -> str:
    parts = ["<a"]
    for name, value in attrs:
        parts.append(f" {name}" if value is None else f' {name}="{html.escape(value)}"')
    parts.append(" />" if self_closing else ">")
    return "".join(parts)


def instrument(body: str, *, message_id: str, signer: Signer, opens: bool, clicks: bool) -> str:
    """The HTML with http(s) links sent through the click redirect and the open pixel
    added before `</body>` (or at the end).

    Links marked `clicktracking="off"` (SendGrid's convention), `mailto:`, `tel:` and
    in-page anchors are left as they are.
    """
    if not (opens or clicks):
        return body
    parser = _Anchors(body)
    parser.feed(body)
    parser.close()
    edits: list[tuple[int, int, str]] = []  # (start, end, replacement), in source order
    if clicks:
        for offset, text, attrs, self_closing in parser.anchors:
            values = dict(attrs)
            href = (values.get("href") or "").strip()
            if not href.lower().startswith(_TRACKED_SCHEMES):
                continue
            if (values.get("clicktracking") or "").lower() == "off":
                continue
            tracked = signer.click_url(message_id, href)
            new_attrs = [(n, tracked if n == "href" else v) for n, v in attrs]
            edits.append((offset, offset + len(text), _start_tag(new_attrs, self_closing)))
    if opens:
        pixel = (
            f'<img src="{html.escape(signer.open_url(message_id))}" width="1" height="1" '
            'alt="" style="height:1px;width:1px;border:0;margin:0;padding:0" />'
        )
        at = parser.body_end if parser.body_end is not None else len(body)
        edits.append((at, at, pixel))
    edits.sort(key=lambda edit: edit[0])
    pieces: list[str] = []
    position = 0
    for start, end, replacement in edits:
        pieces.append(body[position:start])
        pieces.append(replacement)
        position = end
    pieces.append(body[position:])
    return "".join(pieces)


# --- hits -------------------------------------------------------------------------


def check_open(secret: str, message_id: str, expires: str, signature: str) -> bool:
    return _verify(secret, _open_payload(message_id), expires, signature)


def check_click(secret: str, message_id: str, url: str, expires: str, signature: str) -> bool:
    if not url.lower().startswith(_TRACKED_SCHEMES):
        return False
    return _verify(secret, _click_payload(message_id, url), expires, signature)


def _verify(secret: str, payload: str, expires: str, signature: str) -> bool:
    try:
        expires_at = int(expires)
    except ValueError:
        return False
    return security.verify_signature(secret, payload, expires_at, signature)


async def record_hit(
    conn: AsyncConnection,
    events: EventLog,
    *,
    kind: Literal["open", "click"],
    message_id: str,
    secret: str,
    expires: str,
    signature: str,
    url: str | None = None,
    user_agent: str | None = None,
    ip: str | None = None,
    now: float | None = None,
) -> None:
    """Check the signature and append one `open`/`click` event (through the sinks, so
    the activity counters move). A bad signature or unknown message raises NotFound and
    writes nothing."""
    valid = (
        check_click(secret, message_id, url or "", expires, signature)
        if kind == "click"
        else check_open(secret, message_id, expires, signature)
    )
    if not valid:
        raise NotFound("The requested resource does not exist.")
    owner = await store.email_owner(conn, message_id)
    if owner is None:
        raise NotFound("The requested resource does not exist.")
    account_id, user_id = owner
    data: dict[str, Any] = {"http_user_agent": user_agent or "", "ip": ip or ""}
    if kind == "click":
        data["url"] = url
    moment = time.time() if now is None else now
    await events.record(conn, [Event(message_id, account_id, user_id, CHANNEL, kind, moment, data)])
