"""Rule actions other than URL: an auto-reply or forward by SMS, a notice by email.

The sink queues an `automation_actions` row in the event's transaction; this runner
(a periodic job, `job`) claims due rows and performs each in its own transaction:

    AUTO_REPLY   SMS back to the sender, from the number it wrote to; text: the rule's
                 `body`, else its `action_address`
    SMS          the inbound message (or the receipt) forwarded to `action_address`
    EMAIL_FIXED  an email to `action_address`
    EMAIL_USER   an email to the address of the user who owns the message
    (contacts)   CREATE_CONTACT…, MOVE_CONTACT, CONTACT_OPT_OUT, GROUP_SMS: see
                 `automations.contact_actions`

SMS go through `outbound.accept`, charged to the account like any SMS (no credit: the
action fails with INSUFFICIENT_CREDIT, nothing is charged). Emails go through the
platform's system mail (free, capped per account per hour). Messages sent here carry
`source = "automation"`, and their own receipts never fire rules again: a receipt rule
that answers receipts by SMS would otherwise feed itself forever.
"""

from __future__ import annotations

import dataclasses
import html
import logging
import os
import time
from collections import Counter
from collections.abc import Mapping
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncConnection

from dovecote.accounts import store as account_store
from dovecote.automations import contact_actions
from dovecote.automations import kinds as k
from dovecote.channels.sms.audience import skip_opted_out
from dovecote.channels.sms.compose import SmsRequest, compose, valid_sender
from dovecote.core.errors import DomainError
from dovecote.core.models import Principal
from dovecote.pipeline import leases, outbound
from dovecote.pipeline.jobs import JobContext, PeriodicJob
from dovecote.pipeline.pricing import PriceBook
from dovecote.settings import Settings
from dovecote.storage.tables import automation_actions as actions

log = logging.getLogger("dovecote.automations")
SOURCE: Final = "automation"
LEASE = 60.0
MAX_ATTEMPTS = 3


def _describe(kind: str, event: Mapping[Any, Any]) -> tuple[str, str]:
    """A subject and a plain-text line for a notice about `event`."""
    if k.KINDS[kind].inbound:
        sender, body = event.get("from", ""), event.get("body", "")
        return f"Inbound SMS from {sender}", f"SMS from {sender}: {body}"
    status = event.get("status") or event.get("status_text") or ""
    channel = str(event.get("message_type") or "message").upper()
    subject = f"{channel} receipt: {status}"
    return subject, f"{subject} (message {event.get('message_id')})"


async def _principal(conn: AsyncConnection, account_id: int, user_id: int) -> Principal | None:
    user = await account_store.get_user(conn, user_id)
    account = await account_store.get_account(conn, account_id)
    if user is None or account is None or user.account_id != account.id:
        return None
    return Principal(user=user, account=account)


class ActionRunner:
    def __init__(self, context: JobContext, prices: PriceBook) -> None:
        self.context = context
        self.prices = prices
        self.owner = f"actions-{os.getpid()}-{id(self):x}"

    async def run_once(self, *, now: float | None = None, limit: int = 100) -> int:
        moment = time.time() if now is None else now
        async with self.context.engine.begin() as conn:
            claimed = await leases.claim(
                conn,
                actions,
                owner=self.owner,
                now=moment,
                lease=LEASE,
                limit=limit,
                returning=list(actions.c),
                where=[actions.c.status == "pending"],
                values={"attempts": actions.c.attempts + 1},
            )
        for row in claimed:
            await self._run(row, moment)
        return len(claimed)

    async def _run(self, row: Mapping[Any, Any], now: float) -> None:
        try:
            async with self.context.engine.begin() as conn:
                result = await self._perform(conn, row, now)
                await self._finish(conn, row, "done", result)
        except DomainError as exc:  # refused (no credit, a bad address): final
            async with self.context.engine.begin() as conn:
                await self._finish(conn, row, "failed", exc.message)
        except Exception:
            log.exception("automation action %s failed", row["id"])
            async with self.context.engine.begin() as conn:
                final = int(row["attempts"]) >= MAX_ATTEMPTS
                await conn.execute(
                    actions.update()
                    .where(actions.c.id == row["id"], actions.c.lease_owner == self.owner)
                    .values(
                        status="failed" if final else "pending",
                        due_at=None if final else now + 60.0 * int(row["attempts"]),
                        lease_owner=None,
                        result="internal error",
                    )
                )

    async def _finish(
        self, conn: AsyncConnection, row: Mapping[Any, Any], status: str, result: str
    ) -> None:
        await conn.execute(
            actions.update()
            .where(actions.c.id == row["id"], actions.c.lease_owner == self.owner)
            .values(status=status, due_at=None, lease_owner=None, result=result[:2000])
        )

    async def _perform(self, conn: AsyncConnection, row: Mapping[Any, Any], now: float) -> str:
        principal = await _principal(conn, int(row["account_id"]), int(row["user_id"]))
        if principal is None:
            return "the user no longer exists"
        payload: dict[str, Any] = row["payload"]
        event: dict[str, Any] = payload["event"]
        action: str = row["action"]
        if action in contact_actions.ACTIONS:

            async def send(requests: list[SmsRequest]) -> str:
                return await self._sms_many(conn, principal, requests, now)

            address = str(payload.get("action_address") or "")
            return await contact_actions.perform(
                conn, principal, action, address, event, send, keyword=payload.get("keyword")
            )
        subject, line = _describe(payload["kind"], event)
        if action in (k.AUTO_REPLY, k.SMS):
            if action == k.AUTO_REPLY:
                sender = str(event.get("to") or "")
                request = SmsRequest(
                    to=str(event.get("from") or ""),
                    body=payload.get("body") or payload["action_address"],
                    sender=sender if valid_sender(sender) else None,
                    source=SOURCE,
                )
            else:
                request = SmsRequest(to=payload["action_address"], body=line, source=SOURCE)
            return await self._sms(conn, principal, request, now)
        to = payload["action_address"] if action == k.EMAIL_FIXED else principal.user.email
        if not to:
            return "the user has no email address"
        return await self.context.system_mail.send(
            conn,
            account_id=principal.account.id,
            user_id=principal.user.id,
            to=to,
            subject=subject,
            html=f"<p>{html.escape(line)}</p>",
            text=line,
            categories=("automation",),
            now=now,
        )

    async def _sms_many(
        self, conn: AsyncConnection, principal: Principal, requests: list[SmsRequest], now: float
    ) -> str:
        """A GROUP_SMS: each member its own message; opted-out members skipped. The
        batch is charged all or nothing (no credit: the action fails, nothing sent)."""
        sourced = [dataclasses.replace(request, source=SOURCE) for request in requests]
        items = compose(sourced, principal.account, self.prices, now=now)
        await skip_opted_out(conn, principal.account.id, items)
        accepted = await outbound.accept(
            conn,
            principal,
            items,
            now=now,
            throttle_window=self.context.settings.sms_throttle_window,
            events=self.context.events,
        )
        statuses = Counter(item.status for item in accepted.items)
        if statuses.get("INSUFFICIENT_CREDIT"):
            raise DomainError(
                "The SMS were not sent: INSUFFICIENT_CREDIT.", code="INSUFFICIENT_CREDIT"
            )
        return ", ".join(f"{n} {status}" for status, n in sorted(statuses.items()))

    async def _sms(
        self, conn: AsyncConnection, principal: Principal, request: SmsRequest, now: float
    ) -> str:
        items = compose([request], principal.account, self.prices, now=now)
        accepted = await outbound.accept(
            conn,
            principal,
            items,
            now=now,
            throttle_window=self.context.settings.sms_throttle_window,
            events=self.context.events,
        )
        [item] = accepted.items
        if not item.ok:
            raise DomainError(f"The SMS was not sent: {item.status}.", code=item.status)
        return str(item.id)


def job(settings: Settings) -> PeriodicJob:
    """The worker's periodic hook (listed in `dovecote.wiring.JOBS`)."""
    prices = PriceBook.load(settings.prices_file)
    holder: dict[str, ActionRunner] = {}

    async def run(context: JobContext) -> int:
        runner = holder.get("runner")
        if runner is None:
            runner = holder["runner"] = ActionRunner(context, prices)
        return await runner.run_once()

    return PeriodicJob(name="automation-actions", interval=settings.worker_poll_interval, run=run)
