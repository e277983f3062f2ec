"""A real loopback webhook receiver for the automation tests, and helpers around it."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from standardwebhooks.webhooks import Webhook

import http_peer


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    answered: int


@dataclass
class Receiver:
    """Records every request; `answer` picks the status (and headers) of each."""

    url: str = ""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    requests: list[Received] = field(default_factory=list)
    answer: Callable[[Received], int] | None = None

    def delivered(self) -> list[Received]:
        return [r for r in self.requests if 200 <= r.answered < 300]

    def verify(self, secret: str, request: Received) -> Any:
        """The Standard Webhooks library's own check (raises when it fails)."""
        return Webhook(secret).verify(request.body, request.headers, json_parse=False)


@contextmanager
def receiver() -> Iterator[Receiver]:
    peer = Receiver()
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", "0"))
            request = Received(
                self.path,
                {k.lower(): v for k, v in self.headers.items()},
                self.rfile.read(length),
                0,
            )
            status = peer.answer(request) if peer.answer else peer.status
            request.answered = status
            with lock:
                peer.requests.append(request)
            try:
                self.send_response(status)
                for name, value in peer.headers.items():
                    self.send_header(name, value)
                self.send_header("content-length", "2")
                self.end_headers()
                self.wfile.write(b"ok")
            except (BrokenPipeError, ConnectionResetError):
                pass

        def log_message(self, format: str, *args: Any) -> None:
            return None

    with http_peer.serve(Handler) as base:
        peer.url = f"{base}/hook"
        yield peer


class Clock:
    """A movable clock for the webhook sender: `now` is what it answers."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
