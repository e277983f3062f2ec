"""`GET /metrics`: Prometheus text, for the operator's scraper only.

Served when `DOVECOTE_METRICS_TOKEN` is set, and then only to
`Authorization: Bearer <token>`; otherwise it does not exist (404). `RequestTimer` times
every request by its route template (`/v3/sms/{message_id}/cancel`, never the raw path,
so ids do not multiply the series).
"""

from __future__ import annotations

import hmac
import time

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dovecote.apis.deps import Conn, RuntimeDep
from dovecote.core.errors import NotFound, Unauthorized
from dovecote.pipeline.metrics import Metrics

router = APIRouter(tags=["Operations"], include_in_schema=False)


@router.get("/metrics")
async def metrics(request: Request, runtime: RuntimeDep, conn: Conn) -> Response:
    token = runtime.settings.metrics_token
    if not token:
        raise NotFound("The requested resource does not exist.")
    given = request.headers.get("authorization", "")
    if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        raise Unauthorized("A valid metrics token is required.")
    await runtime.metrics.read_queue(conn)
    await runtime.metrics.read_connectors(conn)
    return Response(generate_latest(runtime.metrics.registry), media_type=CONTENT_TYPE_LATEST)


class RequestTimer:
    """Pure ASGI middleware: one histogram observation per HTTP request."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            self.metrics.request_seconds.labels(
                scope["method"], _template(scope), str(status)
            ).observe(time.perf_counter() - started)


def _template(scope: Scope) -> str:
    """The request's path with its path parameters named again: `/v3/sms/{message_id}/cancel`.
    Rebuilt from the path, because a router included with a prefix records its route
    without the prefix. A path no route matched is `unmatched` (no label per typo)."""
    if scope.get("route") is None:
        return "unmatched"
    names = {str(value): name for name, value in (scope.get("path_params") or {}).items()}
    return "/".join(
        f"{{{names[part]}}}" if part in names else part for part in scope["path"].split("/")
    )
