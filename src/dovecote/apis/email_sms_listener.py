"""The email-to-SMS SMTP listener: mail to `<number>@<DOVECOTE_EMAIL_SMS_DOMAIN>` from an
allowed address becomes an SMS from the account that allowed it.

It is a wire format like the HTTP APIs (SMTP in, the SMS channel's send out), so it sits
in `apis/`, and `app.py` starts it in `serve`'s process when `--smtp-port` (or
`DOVECOTE_EMAIL_SMS_SMTP_PORT`) is set; off by default. It runs aiosmtpd's protocol on
the application's own event loop, so it shares the engine, price book and event log.

Refusals carry the SMTP code a sending server acts on: 550 for a sender nobody allowed,
a recipient outside the domain or a message the account may not send (permanent), 452
when the account's credit is out (temporary: the sender's server retries later). A
message goes to all its recipients or to none: the SMS are charged and queued in one
transaction, rolled back unless every one of them is accepted.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from typing import Final

from aiosmtpd.smtp import SMTP, Envelope, Session

from dovecote.accounts.store import user_and_account
from dovecote.channels.sms import email_sms
from dovecote.core.models import Principal
from dovecote.runtime import Runtime

log = logging.getLogger(__name__)

MAX_RECIPIENTS: Final = 100
MAX_MESSAGE_BYTES: Final = 1_000_000
_NUMBER = re.compile(r"\+?[0-9]{3,16}")
# A refused message's ClickSend status → the SMTP reply its sender's server acts on.
REPLIES: Final = {
    "INSUFFICIENT_CREDIT": "452 4.2.2 Insufficient credit; nothing was sent",
    "THROTTLED": "451 4.7.1 The same text went to this number moments ago; try later",
    "ACCOUNT_NOT_ACTIVATED": "550 5.7.1 The account is not active",
    "INVALID_RECIPIENT": "550 5.1.1 A recipient is not a valid phone number",
    "INVALID_SENDER_ID": "550 5.7.1 The sender id is not allowed for this account",
    "EMPTY_MESSAGE": "554 5.6.0 The email has no text to send",
}


class Refused(Exception):
    """Leaves the transaction (rolling it back) with the SMTP reply to give."""

    def __init__(self, reply: str) -> None:
        super().__init__(reply)
        self.reply = reply


class EmailSmsHandler:
    """aiosmtpd hooks: check the sender at MAIL, the recipients at RCPT, send at DATA."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.domain = runtime.settings.email_sms_domain.lower()

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        async with self.runtime.engine.connect() as conn:
            allowed = await email_sms.allowed_sender(conn, address)
        if allowed is None:
            return "550 5.7.1 This address may not send SMS by email"
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 2.1.0 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        local, _, domain = address.rpartition("@")
        if domain.lower() != self.domain:
            return f"550 5.7.1 Only mail to <number>@{self.domain} is accepted"
        if not _NUMBER.fullmatch(local):
            return f"553 5.1.3 Write the recipient as <number>@{self.domain}"
        if len(envelope.rcpt_tos) >= MAX_RECIPIENTS:
            return "452 4.5.3 Too many recipients"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        assert envelope.mail_from is not None  # aiosmtpd refuses DATA before MAIL and RCPT
        numbers = [address.rpartition("@")[0] for address in envelope.rcpt_tos]
        content = envelope.original_content or envelope.content or b""
        raw = content if isinstance(content, bytes) else content.encode()
        try:
            queued = await self._send(envelope.mail_from, numbers, raw)
        except Refused as refused:
            return refused.reply
        except Exception:  # a database hiccup: the sender's server retries, nothing is lost
            log.exception("email-to-SMS from %s failed", envelope.mail_from)
            return "451 4.3.0 Temporary failure; try again later"
        return f"250 2.0.0 {queued} SMS queued"

    async def _send(self, mail_from: str, numbers: list[str], raw: bytes) -> int:
        runtime = self.runtime
        async with runtime.engine.begin() as conn:
            allowed = await email_sms.allowed_sender(conn, mail_from)
            if allowed is None:  # deleted between MAIL and DATA
                raise Refused("550 5.7.1 This address may not send SMS by email")
            found = await user_and_account(conn, allowed.user_id, None)
            if found is None:
                raise Refused("550 5.7.1 The account of this address no longer exists")
            user, account = found
            principal = Principal(user=user, account=account)
            if account.banned or not principal.can("access_sms"):
                raise Refused("550 5.7.1 This account may not send SMS")
            text = email_sms.email_text(raw, await email_sms.strip_strings(conn, account.id))
            items = await email_sms.send_text(
                conn,
                principal,
                numbers,
                text,
                sender=allowed.sender,
                from_email=mail_from.lower(),
                prices=runtime.prices,
                throttle_window=runtime.settings.sms_throttle_window,
                now=time.time(),
                events=runtime.events,
            )
            refused = [item.status for item in items if not item.ok]
            if refused:
                # Raised inside the transaction: the debit and the queued rows roll back.
                first = refused[0]
                raise Refused(REPLIES.get(first, f"554 5.0.0 Not sent: {first}"))
        runtime.metrics.accepted.labels("sms").inc(len(items))
        return len(items)


class EmailSmsListener:
    """The SMTP server, on the running event loop; `start` and `stop` with the app."""

    def __init__(self, runtime: Runtime, host: str, port: int) -> None:
        self.handler = EmailSmsHandler(runtime)
        self.host, self.port = host, port
        self._server: asyncio.Server | None = None

    def _protocol(self) -> SMTP:
        return SMTP(
            self.handler,
            data_size_limit=MAX_MESSAGE_BYTES,
            hostname=self.handler.domain,  # not getfqdn(): a DNS lookup per connection
            ident="Dovecote email-to-SMS",
            decode_data=False,
        )

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(self._protocol, self.host, self.port)
        log.info(
            "email-to-SMS listening on %s:%s for @%s", self.host, self.port, self.handler.domain
        )

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
