"""Refuse, at the door, request bodies no handler should ever see.

- Oversized bodies, before they are read into memory.
- NUL characters. PostgreSQL text cannot hold U+0000 (it fails the whole statement, a 500)
  while SQLite stores it; refusing it here gives one clear 400 on both backends, for every
  field of every API, before any handler runs.
- Text that is not valid Unicode: lone surrogates, whether sent as a JSON escape
  (`"\\ud800"`) or as UTF-8-encoded surrogate bytes (which `json.loads` lets through with
  `surrogatepass`). Python keeps such a str, but it cannot be encoded: the database, the
  MIME writer and the JSON response all fail on it later, a 500. (Other bytes that are
  not UTF-8 fail JSON decoding itself, each API answering its own "not JSON" 400.)
- JSON nested deeper than MAX_JSON_DEPTH: `json.loads` and pydantic recurse per level,
  and ~1,000 levels (2 KB of `[`) end in RecursionError, a 500.

Every API here speaks JSON (no route takes a form or a file), so every body but a form's
is checked as JSON text. The checks run once the whole body has arrived (it is bounded
by the size limit, and FastAPI buffers it anyway), before the handler gets its last
chunk; each answers 400 in the caller's API family format.
"""

from __future__ import annotations

import json
import re

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyTooLarge(HTTPException):
    # An HTTPException so that FastAPI, reading a streamed body, re-raises it to the
    # error handlers instead of replacing it with "There was an error parsing the body".
    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, f"Request body is larger than {max_bytes} bytes.")


class NulCharacter(HTTPException):
    def __init__(self) -> None:
        super().__init__(400, NUL_MESSAGE)


NUL_MESSAGE = "Text may not contain the NUL character (\\u0000)."
# A JSON `\u0000` escape not itself escaped (an even run of backslashes before it).
_NUL_ESCAPE = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")

UNICODE_MESSAGE = "Text must be valid Unicode: it may not hold a lone surrogate (\\ud800-\\udfff)."
MAX_JSON_DEPTH = 64
DEPTH_MESSAGE = f"JSON may not be nested more than {MAX_JSON_DEPTH} levels deep."


class InvalidText(HTTPException):
    """Raised from `receive`, so FastAPI passes it to the error handlers like BodyTooLarge."""

    def __init__(self, message: str) -> None:
        super().__init__(400, message)


# Escapes read left to right as JSON reads them: an escaped backslash first (so that
# `\\ud800` is a backslash and text), then a surrogate pair, then a lone surrogate (group 1).
_ESCAPES = re.compile(
    rb"\\\\"
    rb"|\\u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}"
    rb"|(\\u[dD][89a-fA-F][0-9a-fA-F]{2})"
)
_SURROGATE_HINT = re.compile(rb"\\u[dD][89a-fA-F]")
# U+D800-U+DFFF encoded as UTF-8 (0xED is only ever a lead byte, never a continuation).
_ENCODED_SURROGATE = re.compile(rb"\xed[\xa0-\xbf]")
# A JSON string, escapes included: its brackets are text, not nesting.
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKETS = bytes(set(range(256)) - set(b"[]{}"))
_FORM_TYPES = (b"multipart/", b"application/x-www-form-urlencoded")


def check_json_text(body: bytes) -> None:
    """Raise InvalidText if `body` is not valid Unicode or nests too deeply.

    Cheap for ordinary bodies: the slower scans run only when a surrogate escape, or more
    brackets than the depth limit, appear at all.
    """
    if _ENCODED_SURROGATE.search(body):
        raise InvalidText(UNICODE_MESSAGE)
    if _SURROGATE_HINT.search(body) and any(m.group(1) for m in _ESCAPES.finditer(body)):
        raise InvalidText(UNICODE_MESSAGE)
    if body.count(b"[") + body.count(b"{") <= MAX_JSON_DEPTH:
        return
    nesting = _JSON_STRING.sub(b"", body).translate(None, _NOT_BRACKETS)
    nesting = nesting.replace(b"{", b"[").replace(b"}", b"]")
    # Each pass removes the innermost level; anything left after MAX_JSON_DEPTH passes
    # is deeper than that (or unbalanced, which JSON refuses anyway).
    for _ in range(MAX_JSON_DEPTH):
        if b"[" not in nesting:
            return
        nesting = nesting.replace(b"[]", b"")
    if b"[" in nesting:
        raise InvalidText(DEPTH_MESSAGE)


class BodySizeLimit:
    """Pure ASGI middleware: checks Content-Length, and counts streamed bytes too."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length" and value.isdigit() and int(value) > self.max_bytes:
                await self._refuse(
                    scope, send, f"Request body is larger than {self.max_bytes} bytes."
                )
                return
        if b"%00" in scope.get("query_string", b"") or "\x00" in scope.get("path", ""):
            await self._refuse(scope, send, NUL_MESSAGE)
            return
        json_text = not any(
            name == b"content-type" and value.lower().lstrip().startswith(_FORM_TYPES)
            for name, value in scope.get("headers", ())
        )
        seen = 0
        tail = b""
        chunks: list[bytes] = []

        async def counted_receive() -> Message:
            nonlocal seen, tail
            message = await receive()
            chunk = message.get("body", b"")
            seen += len(chunk)
            if seen > self.max_bytes:
                raise BodyTooLarge(self.max_bytes)
            # The tail of the previous chunk catches an escape split across two chunks.
            if _NUL_ESCAPE.search(tail + chunk) or b"\x00" in chunk:
                raise NulCharacter
            tail = chunk[-8:]
            if json_text and message["type"] == "http.request":
                chunks.append(chunk)
                if not message.get("more_body", False):
                    whole = chunks[0] if len(chunks) == 1 else b"".join(chunks)
                    chunks.clear()
                    check_json_text(whole)
            return message

        try:
            await self.app(scope, counted_receive, send)
        except BodyTooLarge:
            await self._refuse(scope, send, f"Request body is larger than {self.max_bytes} bytes.")
        except NulCharacter:
            await self._refuse(scope, send, NUL_MESSAGE)
        except InvalidText as exc:
            await self._refuse(scope, send, exc.detail)

    async def _refuse(self, scope: Scope, send: Send, text: str) -> None:
        from dovecote.apis.errors import family

        kind = family(scope["path"])
        if kind == "sendgrid":
            payload: object = {"errors": [{"field": None, "message": text}]}
        elif kind == "emailverify":
            payload = {"success": False, "message": text}
        else:
            payload = {
                "http_code": 400,
                "response_code": "BAD_REQUEST",
                "response_msg": text,
                "data": [],
            }
        body = json.dumps(payload).encode()
        status = 413 if kind != "clicksend" and "larger than" in text else 400
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
