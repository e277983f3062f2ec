"""The `http` transport: hand messages to an upstream ClickSend-compatible API (ClickSend
itself, or another Dovecote) through its `/v3/<channel>/send` (SMS, voice, MMS, fax, email:
`shapes.py`), and poll its receipts or take them pushed (`receipts.py`).

Only usable as a connector (`dovecote connectors add NAME http --set url=… …`): each
connector has its own upstream and credentials. Settings:

    url          the upstream's base, e.g. https://rest.clicksend.com (no /v3)
    username     the upstream account's username
    password     its API key; sent as HTTP Basic auth, never logged nor shown
    batch        messages per upstream request (default 100; ClickSend takes 1000)
    timeout      seconds per request (default 10)
    email_address_id  the upstream account's verified sender address id, for email
    link_base    the base of the links to MMS media and fax documents the upstream
                 fetches (default DOVECOTE_PUBLIC_URL; see `shapes.py`)
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
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import httpx

from dovecote.files import links
from dovecote.files.store import FileStore
from dovecote.pipeline.transports.base import Job, Outcome
from dovecote.pipeline.transports.http import shapes
from dovecote.pipeline.transports.http.receipts import receipt_outcome
from dovecote.settings import Settings

log = logging.getLogger("dovecote.http_transport")

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
        link_secret: str = "",
        link_base: str = "",
        email_address_id: str = "",
    ) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValueError("http connector: url must be an http(s) URL")
        self.url = url.rstrip("/")
        self.batch = max(1, min(int(batch), 1000))
        self.poll = float(poll)
        self.connector = connector
        self.receipts = receipts
        # Signs the links to MMS media and fax documents the upstream fetches (`shapes`).
        self.link_secret = link_secret
        self.link_base = link_base
        self.email_address_id = email_address_id
        self._emails = asyncio.Semaphore(_POLLS)  # one request per email: a few at once
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
    def from_settings(cls, settings: Settings, files: FileStore) -> HttpTransport:
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
            link_secret=settings.secret_key,
            link_base=str(config.get("link_base") or settings.public_base()),
            email_address_id=str(config.get("email_address_id") or ""),
        )

    # --- sending --------------------------------------------------------------------

    async def send(self, jobs: Sequence[Job]) -> Sequence[Outcome]:
        outcomes: dict[str, Outcome] = {}
        groups: dict[tuple[str, str], list[Job]] = {}  # (channel, file key) → its jobs
        emails = [job for job in jobs if job.channel == "email"]
        for job in jobs:
            if job.channel == "email":
                continue
            if job.channel not in shapes.SHAPES:
                outcomes[job.id] = Outcome(
                    "failed", error_text=f"the http transport does not carry {job.channel}"
                )
                continue
            key = shapes.file_key(job)
            if key is None:
                outcomes[job.id] = Outcome(
                    "failed", error_text=f"no stored file to send this {job.channel} with"
                )
                continue
            groups.setdefault((job.channel, key), []).append(job)
        requests = [
            (channel, key, group[start : start + self.batch])
            for (channel, key), group in groups.items()
            for start in range(0, len(group), self.batch)
        ]
        results, sent = await asyncio.gather(
            asyncio.gather(
                *(self._send_batch(channel, key, chunk) for channel, key, chunk in requests)
            ),
            asyncio.gather(*(self._send_email(job) for job in emails)),
        )
        for (_, _, chunk), answers in zip(requests, results, strict=True):
            outcomes.update(zip((job.id for job in chunk), answers, strict=True))
        outcomes.update(zip((job.id for job in emails), sent, strict=True))
        return [outcomes[job.id] for job in jobs]

    def _link(self, key: str) -> str:
        return links.signed_url(
            key,
            secret=self.link_secret,
            base_url=self.link_base,
            expires_at=int(time.time()) + shapes.LINK_TTL,
        )

    async def _send_batch(self, channel: str, key: str, jobs: Sequence[Job]) -> list[Outcome]:
        shape = shapes.SHAPES[channel]
        body: dict[str, Any] = {"messages": [shapes.message(job) for job in jobs]}
        if shape.file_field is not None:
            body[shape.file_field] = self._link(key)
        return await self._post(shape.path, body, len(jobs), _messages)

    async def _send_email(self, job: Job) -> Outcome:
        if not self.email_address_id:
            return Outcome(
                "failed",
                error_text="the connector has no email_address_id (the upstream's sender)",
                detail={"connector": self.connector},
            )
        async with self._emails:
            body = shapes.email_request(job, self.email_address_id)
            [outcome] = await self._post(shapes.EMAIL_PATH, body, 1, _email)
        return outcome

    async def _post(
        self, path: str, body: dict[str, Any], count: int, answers: Callable[[Any], Any]
    ) -> list[Outcome]:
        """POST one request for `count` messages; `answers` picks the per-message answers
        (ClickSend's `{status, message_id}` items) out of the envelope's `data`."""
        try:
            response = await self._client.post(path, json=body)
        except httpx.HTTPError as exc:
            reason = f"upstream {self.url} unreachable: {type(exc).__name__}"
            return [self._down(reason) for _ in range(count)]
        status = response.status_code
        if status == 429:
            return [
                Outcome(
                    "deferred",
                    error_text="upstream throttled (HTTP 429)",
                    detail={"connector": self.connector, "http_status": 429},
                )
            ] * count
        if status >= 500 or status in (401, 403):
            return [self._down(f"upstream answered HTTP {status}", status)] * count
        try:
            answered = answers(response.json()["data"]) if status == 200 else None
        except (ValueError, KeyError, TypeError):
            answered = None
        if not isinstance(answered, list) or len(answered) != count:
            # Per-message answers that cannot be paired with ours: a 4xx that refused the
            # whole request fails it; anything else is the upstream's fault, try again.
            if 400 <= status < 500:
                return [
                    Outcome(
                        "failed",
                        error_text=f"upstream refused the request (HTTP {status})",
                        detail={"connector": self.connector, "http_status": status},
                    )
                ] * count
            return [self._down(f"upstream answer unreadable (HTTP {status})", status)] * count
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


def _messages(data: Any) -> Any:
    return data["messages"]


def _email(data: Any) -> Any:
    """`/v3/email/send` answers the one email it queued, not a list."""
    return [{"status": "SUCCESS", "message_id": data["message_id"]}] if data["message_id"] else None
