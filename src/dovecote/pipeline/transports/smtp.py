"""Real email delivery: hand each message to an SMTP relay with aiosmtplib.

Each job is one recipient and its built MIME (`Job.content`), sent as its own SMTP
transaction (MAIL FROM, one RCPT TO, DATA) so the relay's answer applies to exactly
one message. A batch is spread over `connections` parallel connections, each reused
for all of its jobs: one connection spends a loopback round trip per command, so
parallel lanes are what lift throughput past a few hundred messages a second.

Reply mapping:
    2xx                              delivered   (mx_server, the relay's response)
    4xx, refused or lost connection  deferred    (retried with backoff by the dispatcher;
                                                  after the last attempt a soft bounce)
    5xx                              failed      bounce_type "bounce": a hard bounce,
                                                  which suppresses the address
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

import aiosmtplib

from dovecote.files.store import FileStore
from dovecote.pipeline.transports.base import Job, Outcome
from dovecote.settings import Settings

log = logging.getLogger("dovecote.smtp")

_DEFAULT_PORTS = {"implicit": 465, "starttls": 587, "none": 25}


def enhanced_status(message: str) -> str | None:
    """RFC 3463 code at the start of a reply text ("5.1.1 User unknown" → "5.1.1")."""
    head = message.split(" ", 1)[0]
    parts = head.split(".")
    if len(parts) == 3 and all(part.isdigit() for part in parts) and parts[0] in "245":
        return head
    return None


class SmtpTransport:
    name = "smtp"

    def __init__(
        self,
        *,
        host: str,
        port: int | None = None,
        tls: str = "starttls",
        username: str | None = None,
        password: str | None = None,
        verify: bool = True,
        ca_file: str | None = None,
        timeout: float = 30.0,
        connections: int = 4,
        local_hostname: str | None = None,
    ) -> None:
        if tls not in _DEFAULT_PORTS:
            raise ValueError(f"smtp tls must be one of {sorted(_DEFAULT_PORTS)}, not {tls!r}")
        self.host = host
        self.port = port or _DEFAULT_PORTS[tls]
        self.tls = tls
        self.username = username
        self.password = password
        self.verify = verify
        self.ca_file = ca_file
        self.timeout = timeout
        self.connections = max(1, connections)
        self.local_hostname = local_hostname

    @classmethod
    def from_settings(cls, settings: Settings, files: FileStore) -> SmtpTransport:
        return cls(
            host=settings.smtp_host,
            port=settings.smtp_port,
            tls=settings.smtp_tls,
            username=settings.smtp_username,
            password=settings.smtp_password,
            verify=settings.smtp_tls_verify,
            ca_file=settings.smtp_ca_file,
            timeout=settings.smtp_timeout,
            connections=settings.smtp_connections,
            local_hostname=settings.smtp_local_hostname,
        )

    @property
    def relay(self) -> str:
        return f"{self.host}:{self.port}"

    async def send(self, jobs: Sequence[Job]) -> Sequence[Outcome]:
        outcomes: list[Outcome | None] = [None] * len(jobs)
        lanes = min(self.connections, len(jobs))
        await asyncio.gather(
            *(self._lane(jobs, range(lane, len(jobs), lanes), outcomes) for lane in range(lanes))
        )
        return [
            outcome or self._deferred(job, "not attempted")
            for job, outcome in zip(jobs, outcomes, strict=True)
        ]

    async def settle(self, jobs: Sequence[Job]) -> Sequence[Outcome]:
        # The relay's 250 is final for us; nothing is ever left waiting on a receipt.
        return [self._delivered(job, "250 (settled)") for job in jobs]

    async def close(self) -> None:
        return None

    # --- one connection -------------------------------------------------------------

    def _client(self) -> aiosmtplib.SMTP:
        return aiosmtplib.SMTP(
            hostname=self.host,
            port=self.port,
            username=self.username,
            password=self.password,
            use_tls=self.tls == "implicit",
            start_tls=self.tls == "starttls",  # required, never opportunistic
            validate_certs=self.verify,
            cert_bundle=self.ca_file,
            timeout=self.timeout,
            local_hostname=self.local_hostname,
        )

    async def _lane(
        self, jobs: Sequence[Job], indexes: range, outcomes: list[Outcome | None]
    ) -> None:
        client: aiosmtplib.SMTP | None = None
        try:
            for position, index in enumerate(indexes):
                job = jobs[index]
                if job.content is None:
                    outcomes[index] = self._failed(job, 554, "no built message to send")
                    continue
                if client is None:
                    try:
                        client = await self._connect()
                    except (aiosmtplib.SMTPException, OSError) as exc:
                        # The relay is unreachable: defer the rest of this lane rather
                        # than pay a connect timeout once per message.
                        reason = _describe(exc)
                        for rest in indexes[position:]:
                            outcomes[rest] = self._deferred(jobs[rest], reason)
                        return
                outcomes[index], client = await self._send_one(client, job)
        finally:
            if client is not None:
                await _quit(client)

    async def _connect(self) -> aiosmtplib.SMTP:
        client = self._client()
        await client.connect()  # STARTTLS and AUTH happen here when configured
        return client

    async def _send_one(
        self, client: aiosmtplib.SMTP, job: Job
    ) -> tuple[Outcome, aiosmtplib.SMTP | None]:
        """Send one job; returns its outcome and the connection to go on with (or None)."""
        assert job.content is not None
        try:
            _, message = await client.sendmail(job.sender, [job.recipient], job.content)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            refusal = exc.recipients[0]
            return self._by_code(job, refusal.code, refusal.message), _alive(client)
        except aiosmtplib.SMTPResponseException as exc:
            return self._by_code(job, exc.code, exc.message), _alive(client)
        except (aiosmtplib.SMTPException, OSError) as exc:
            # Lost connection or timeout: the message may or may not have arrived;
            # retrying risks a duplicate, dropping risks a loss — SMTP's own answer
            # (RFC 5321 §6.1) is to retry.
            await _quit(client)
            return self._deferred(job, _describe(exc)), None
        return self._delivered(job, f"250 {message}".strip()), client

    # --- outcomes -------------------------------------------------------------------

    def _detail(self, job: Job, **extra: Any) -> dict[str, Any]:
        return {"mx_server": self.relay, "attempt_num": job.attempts + 1, **extra}

    def _delivered(self, job: Job, response: str) -> Outcome:
        return Outcome("delivered", detail=self._detail(job, response=response))

    def _deferred(self, job: Job, reason: str) -> Outcome:
        # bounce_type "blocked" (SendGrid's soft bounce) is what the final bounce event
        # carries if every retry is deferred too; it never suppresses the address.
        return Outcome(
            "deferred",
            error_text=reason,
            detail=self._detail(job, reason=reason, bounce_type="blocked"),
        )

    def _failed(self, job: Job, code: int, message: str) -> Outcome:
        reason = f"{code} {message}".strip()
        return Outcome(
            "failed",
            error_text=reason,
            detail=self._detail(
                job, reason=reason, bounce_type="bounce", status=enhanced_status(message)
            ),
        )

    def _by_code(self, job: Job, code: int, message: str) -> Outcome:
        if 500 <= code < 600:
            return self._failed(job, code, message)
        return self._deferred(job, f"{code} {message}".strip())


def _alive(client: aiosmtplib.SMTP) -> aiosmtplib.SMTP | None:
    """The connection after an error reply: kept unless the relay hung up (421 does)."""
    return client if client.is_connected else None


def _describe(exc: BaseException) -> str:
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return f"{exc.code} {exc.message}".strip()
    return f"connection failed: {exc}" if str(exc) else f"connection failed: {type(exc).__name__}"


async def _quit(client: aiosmtplib.SMTP) -> None:
    try:
        await client.quit()
    except (aiosmtplib.SMTPException, OSError):
        client.close()
