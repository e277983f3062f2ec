"""What an account sees and controls of its webhooks: the signing secret, the deliveries
(status, attempts, last answer, latency), replaying one or every dead letter.

Like the rules that cause them, these need `access_settings`.
"""

from __future__ import annotations

import time

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from dovecote.accounts.service import require
from dovecote.automations import secrets
from dovecote.automations.rules import PERMISSION
from dovecote.automations.secrets import Secret
from dovecote.core.errors import InvalidInput, NotFound
from dovecote.core.models import Principal
from dovecote.core.sealing import Sealer
from dovecote.pipeline import webhook_queue as queue
from dovecote.storage.listing import Fields, ListQuery, Page, paginate
from dovecote.storage.tables import webhook_deliveries as deliveries

STATUSES = (queue.PENDING, queue.DELIVERED, queue.DEAD)
DELIVERY_FIELDS = Fields(
    columns={
        "id": deliveries.c.id,
        "rule_id": deliveries.c.rule_id,
        "status": deliveries.c.status,
        "message_id": deliveries.c.message_id,
        "event_type": deliveries.c.event_type,
        "created_at": deliveries.c.created_at,
    }
)


async def show_secret(conn: AsyncConnection, principal: Principal, seal: Sealer) -> Secret:
    require(principal, PERMISSION)
    return await secrets.ensure(conn, principal.account.id, time.time(), seal)


async def rotate_secret(conn: AsyncConnection, principal: Principal, seal: Sealer) -> Secret:
    require(principal, PERMISSION)
    return await secrets.rotate(conn, principal.account.id, time.time(), seal)


async def list_deliveries(
    conn: AsyncConnection,
    principal: Principal,
    params: ListQuery,
    *,
    rule_id: int | None = None,
    status: str | None = None,
) -> Page:
    require(principal, PERMISSION)
    query = sa.select(deliveries).where(deliveries.c.account_id == principal.account.id)
    if rule_id is not None:
        query = query.where(deliveries.c.rule_id == rule_id)
    if status is not None:
        if status not in STATUSES:
            raise InvalidInput(f"status must be one of {', '.join(STATUSES)}.", field="status")
        query = query.where(deliveries.c.status == status)
    return await paginate(conn, query, params, DELIVERY_FIELDS, [deliveries.c.id.desc()])


async def replay(conn: AsyncConnection, principal: Principal, delivery_id: int) -> None:
    require(principal, PERMISSION)
    if not await queue.replay(conn, principal.account.id, now=time.time(), delivery_id=delivery_id):
        raise NotFound(f"Delivery #{delivery_id} not found (or it is being sent right now).")


async def replay_dead(conn: AsyncConnection, principal: Principal) -> int:
    require(principal, PERMISSION)
    return await queue.replay(conn, principal.account.id, now=time.time())
