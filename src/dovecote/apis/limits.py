"""Refuse oversized request bodies before they are read into memory, and NUL characters.

PostgreSQL text cannot hold U+0000 (it fails the whole statement, a 500) while SQLite
stores it; refusing it at the door gives one clear 400 on both backends, for every field
of every API, before any handler runs.
"""

from __future__ import annotations

import json
import re

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dovecote.apis.errors import family


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
        seen = 0
        tail = b""

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
            return message

        try:
            await self.app(scope, counted_receive, send)
        except BodyTooLarge:
            await self._refuse(scope, send, f"Request body is larger than {self.max_bytes} bytes.")
        except NulCharacter:
            await self._refuse(scope, send, NUL_MESSAGE)

    async def _refuse(self, scope: Scope, send: Send, text: str) -> None:
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
