"""The `http` transport: hand messages to an upstream ClickSend-compatible API (ClickSend
itself, or another Dovecote) through its `/v3/<channel>/send`, and poll its receipts.

Only usable as a connector (`dovecote connectors add NAME http --set url=… …`): each
connector has its own upstream and credentials. Settings:

    url          the upstream's base, e.g. https://rest.clicksend.com (no /v3)
    username     the upstream account's username
    password     its API key; sent as HTTP Basic auth, never logged nor shown
    batch        messages per upstream request (default 100; ClickSend takes 1000)
    timeout      seconds per request (default 10)
    poll         seconds until a sent message's receipt is first polled (default 5;
                 3600 with receipts=push, where polling only catches a lost receipt)
    receipts     poll (default) or push: the upstream POSTs receipts to
                 /dovecote/providers/NAME/receipts/RECEIPT_TOKEN (`receipts.py`)
    receipt_token  the secret part of that URL (16+ characters), kept sealed

Per-message statuses of the upstream's answer:

    SUCCESS                           sent; transport_ref = the upstream's message_id
    INSUFFICIENT_CREDIT               deferred, and counted against the connector (it
                                      cannot send anything until topped up)
    any other status                  failed; `upstream_status` in the event
    HTTP 429                          deferred (throttled), the connector stays up
    HTTP 401/403, 5xx, timeout,       deferred and counted against the connector: the
    connection refused                router fails over once it is down

Receipts are pushed by the upstream (receipts=push, see `receipts.py`), or polled with
`GET /v3/<channel>/receipts/{message_id}` (404: none yet): status_code 201 → delivered,
301 → expired, other 3xx/4xx/5xx codes → failed with that code; 200 (still sent) →
polled again later. With receipts=push the poll is the fallback, `poll` seconds later.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from dovecote.pipeline.transports.base import Job, Outcome
from dovecote.pipeline.transports.http.receipts import receipt_outcome
from dovecote.settings import Settings

log = logging.getLogger("dovecote.http_transport")

CHANNELS = frozenset({"sms", "voice"})  # whose upstream message shape is a flat list
TEMPORARY = frozenset({"INSUFFICIENT_CREDIT"})
_POLLS = 8  # receipt lookups in flight at once


class HttpTransport:
    name = "http"

    def __init__(
        self,
        *,
        url: str,
        username: str,
        password: str,
        batch: int = 100,
        timeout: float = 10.0,
        poll: float = 5.0,
        connector: str = "http",
        receipts: str = "poll",
    ) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValueError("http connector: url must be an http(s) URL")
        self.url = url.rstrip("/")
        self.batch = max(1, min(int(batch), 1000))
        self.poll = float(poll)
        self.connector = connector
        self.receipts = receipts
        # The credentials live in the client's auth only: no attribute, log line or
        # error text of this class holds the password.
        self._client = httpx.AsyncClient(
            base_url=self.url,
            auth=httpx.BasicAuth(username, password),
            timeout=float(timeout),
            headers={"user-agent": "dovecote-http-transport"},
        )

    def __repr__(self) -> str:
        return f"HttpTransport({self.connector!r}, {self.url!r})"

    @classmethod
    def from_settings(cls, settings: Settings) -> HttpTransport:
        raise ValueError(
            "the http transport needs an upstream and credentials: add it as a connector "
            "(`dovecote connectors add NAME http --set url=… --set username=… "
            "--set password=…`) and route to it"
        )

    @classmethod
    def from_connector(
        cls, settings: Settings, name: str, config: Mapping[str, Any]
    ) -> HttpTransport:
        missing = [key for key in ("url", "username", "password") if not config.get(key)]
        if missing:
            raise ValueError(f"http connector {name!r} lacks {', '.join(missing)}")
        receipts = str(config.get("receipts", "poll"))
        if receipts not in ("poll", "push"):
            raise ValueError(f"http connector {name!r}: receipts is poll or push")
        return cls(
            url=str(config["url"]),
            username=str(config["username"]),
            password=str(config["password"]),
            batch=int(config.get("batch", 100)),
            timeout=float(config.get("timeout", 10.0)),
            poll=float(config.get("poll", 3600.0 if receipts == "push" else 5.0)),
            connector=name,
            receipts=receipts,
        )

    # --- sending --------------------------------------------------------------------

    async def send(self, jobs: Sequence[Job]) -> Sequence[Outcome]:
        outcomes: dict[str, Outcome] = {}
        by_channel: dict[str, list[Job]] = {}
        for job in jobs:
            if job.channel in CHANNELS:
                by_channel.setdefault(job.channel, []).append(job)
            else:
                outcomes[job.id] = Outcome(
                    "failed", error_text=f"the http transport does not carry {job.channel}"
                )
        requests = [
            (channel, group[start : start + self.batch])
            for channel, group in by_channel.items()
            for start in range(0, len(group), self.batch)
        ]
        results = await asyncio.gather(*(self._send_batch(c, chunk) for c, chunk in requests))
        for (_, chunk), answers in zip(requests, results, strict=True):
            outcomes.update(zip((job.id for job in chunk), answers, strict=True))
        return [outcomes[job.id] for job in jobs]

    def _message(self, job: Job) -> dict[str, Any]:
        message: dict[str, Any] = {
            "source": "dovecote",
            "to": job.recipient,
            "body": job.body,
            "custom_string": job.custom_string or "",
        }
        if job.channel == "sms" and job.sender:
            message["from"] = job.sender
        if job.channel == "voice":
            payload = job.payload or {}
            message.update(
                voice=payload.get("voice", "female"),
                lang=payload.get("lang", "en-us"),
                require_input=int(bool(payload.get("require_input"))),
                machine_detection=int(bool(payload.get("machine_detection"))),
            )
        return message

    async def _send_batch(self, channel: str, jobs: Sequence[Job]) -> list[Outcome]:
        body = {"messages": [self._message(job) for job in jobs]}
        try:
            response = await self._client.post(f"/v3/{channel}/send", json=body)
        except httpx.HTTPError as exc:
            reason = f"upstream {self.url} unreachable: {type(exc).__name__}"
            return [self._down(reason) for _ in jobs]
        status = response.status_code
        if status == 429:
            return [
                Outcome(
                    "deferred",
                    error_text="upstream throttled (HTTP 429)",
                    detail={"connector": self.connector, "http_status": 429},
                )
            ] * len(jobs)
        if status >= 500 or status in (401, 403):
            return [self._down(f"upstream answered HTTP {status}", status)] * len(jobs)
        try:
            answered = response.json()["data"]["messages"]
        except (ValueError, KeyError, TypeError):
            answered = None
        if not isinstance(answered, list) or len(answered) != len(jobs):
            # Per-message answers that cannot be paired with ours: a 4xx that refused the
            # whole request fails it; anything else is the upstream's fault, try again.
            if 400 <= status < 500:
                return [
                    Outcome(
                        "failed",
                        error_text=f"upstream refused the request (HTTP {status})",
                        detail={"connector": self.connector, "http_status": status},
                    )
                ] * len(jobs)
            return [self._down(f"upstream answer unreadable (HTTP {status})", status)] * len(jobs)
        return [self._outcome(item) for item in answered]

    def _down(self, reason: str, status: int | None = None) -> Outcome:
        detail: dict[str, Any] = {"connector": self.connector, "connector_error": True}
        if status is not None:
            detail["http_status"] = status
        return Outcome("deferred", error_text=reason, detail=detail)

    def _outcome(self, item: Any) -> Outcome:
        upstream = str(item.get("status", "")) if isinstance(item, dict) else ""
        detail = {"connector": self.connector, "upstream_status": upstream}
        if upstream == "SUCCESS" and item.get("message_id"):
            detail["upstream_message_id"] = str(item["message_id"])
            return Outcome(
                "sent",
                transport_ref=str(item["message_id"]),
                follow_up_in=self.poll,
                detail=detail,
            )
        if upstream in TEMPORARY:
            return Outcome(
                "deferred",
                error_text=f"upstream: {upstream}",
                detail={**detail, "connector_error": True},
            )
        return Outcome(
            "failed", error_text=f"upstream refused: {upstream or 'no status'}", detail=detail
        )

    # --- receipts -------------------------------------------------------------------

    async def settle(self, jobs: Sequence[Job]) -> Sequence[Outcome]:
        limit = asyncio.Semaphore(_POLLS)

        async def poll(job: Job) -> Outcome:
            async with limit:
                return await self._poll(job)

        return await asyncio.gather(*(poll(job) for job in jobs))

    async def _poll(self, job: Job) -> Outcome:
        if not job.transport_ref:
            return Outcome("expired", error_text="no upstream message id to ask about")
        try:
            response = await self._client.get(f"/v3/{job.channel}/receipts/{job.transport_ref}")
        except httpx.HTTPError as exc:
            return Outcome("deferred", error_text=f"receipt poll failed: {type(exc).__name__}")
        if response.status_code == 404:
            return Outcome("deferred", error_text="no receipt from the upstream yet")
        if response.status_code != 200:
            return Outcome("deferred", error_text=f"receipt poll: HTTP {response.status_code}")
        try:
            receipt = response.json()["data"]
            code = int(receipt["status_code"])
        except (ValueError, KeyError, TypeError):
            return Outcome("deferred", error_text="receipt poll: unreadable answer")
        return receipt_outcome(code, receipt.get("error_text"), self.connector)

    async def close(self) -> None:
        await self._client.aclose()
