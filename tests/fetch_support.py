"""A real HTTP server on loopback that serves files by path, for anything Dovecote
fetches: MMS media, fax and letter documents, contact imports."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

import http_peer


@dataclass
class Served:
    body: bytes
    content_type: str = "application/octet-stream"
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class FileServer:
    base: str
    files: dict[str, Served]
    hits: list[str] = field(default_factory=list)

    def url(self, path: str) -> str:
        return f"{self.base}{path}"

    def serve(self, path: str, body: bytes, content_type: str = "application/octet-stream") -> str:
        self.files[path] = Served(body, content_type)
        return self.url(path)


@contextmanager
def file_server() -> Iterator[FileServer]:
    """`server.serve("/a.pdf", data, "application/pdf")` returns the URL that serves it;
    unknown paths answer 404."""
    server_state = FileServer(base="", files={})

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            server_state.hits.append(self.path)
            served = server_state.files.get(self.path)
            if served is None:
                self.send_response(404)
                self.send_header("content-length", "0")
                self.end_headers()
                return
            try:
                self.send_response(served.status)
                self.send_header("content-type", served.content_type)
                self.send_header("content-length", str(len(served.body)))
                for name, value in served.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(served.body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client stopped reading (a body over its cap)

        def log_message(self, format: str, *args: Any) -> None:
            return None

    with http_peer.serve(Handler) as base:
        server_state.base = base
        yield server_state
