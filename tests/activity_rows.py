"""Email Activity fixture rows, written the way the email pipeline writes them.

Times are seconds before a `now` the test chooses, so the same messages serve tests on
a fixed clock (the query table) and on the real one (the HTTP tests).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from dovecote.accounts import service as accounts
from dovecote.core import security
from dovecote.core.models import Principal
from dovecote.storage import tables

H = 3600.0
DAY = 24 * H


@dataclass(frozen=True)
class Msg:
    id: str
    from_email: str
    to_email: str
    subject: str
    status: str
    # (SendGrid webhook event type, seconds before now, data)
    events: tuple[tuple[str, float, dict[str, Any]], ...]
    owner: str = "main"  # main | sub | other
    template_id: str | None = None
    api_key_id: str | None = None
    originating_ip: str | None = None
    outbound_ip: str | None = None
    outbound_ip_type: str | None = None
    teammate: str | None = None
    asm_group_id: int | None = None
    categories: tuple[str, ...] = ()
    unique_args: dict[str, str] = field(default_factory=dict)


def ev(kind: str, ago: float, **data: Any) -> tuple[str, float, dict[str, Any]]:
    return (kind, ago, data)


MESSAGES: tuple[Msg, ...] = (
    Msg(
        "m01",
        "alice@shop.test",
        "bob@example.com",
        "Welcome aboard",
        "delivered",
        (
            ev("processed", 1 * H + 50),
            ev("delivered", 1 * H + 40, mx_server="mx.example.com"),
            ev("open", 1 * H + 30, http_user_agent="Mozilla/5.0"),
            ev("open", 1 * H + 20),
            ev("click", 1 * H, url="https://shop.test/start", http_user_agent="Mozilla/5.0"),
        ),
        template_id="tpl-welcome",
        api_key_id="key1",
        originating_ip="10.0.0.1",
        outbound_ip="192.0.2.10",
        outbound_ip_type="dedicated",
        teammate="alice",
        asm_group_id=7,
        categories=("welcome", "onboarding"),
        unique_args={"customer": "42", "plan": "pro"},
    ),
    Msg(
        "m02",
        "alice@shop.test",
        "carol@example.org",
        "Your receipt #1001",
        "delivered",
        (
            ev("processed", 2 * H + 100),
            ev("deferred", 2 * H + 50, reason="421 try later", attempt_num=1),
            ev("delivered", 2 * H),
        ),
        api_key_id="key1",
        categories=("receipt",),
        unique_args={"customer": "43"},
    ),
    Msg(
        "m03",
        "news@shop.test",
        "dave@example.com",
        "Weekly news 50% off",
        "not_delivered",
        (
            ev("processed", 3 * H + 10),
            ev("bounce", 3 * H, reason="550 no such user", bounce_type="bounce"),
        ),
        originating_ip="10.0.0.2",
        categories=("news",),
    ),
    Msg(
        "m04",
        "news@shop.test",
        "erin@example.com",
        "Weekly news",
        "processed",
        (ev("processed", 5 * H - 0.25),),
        categories=("news", "promo"),
        asm_group_id=8,
        outbound_ip="192.0.2.11",
        outbound_ip_type="shared",
    ),
    Msg(
        "m05",
        "alice@shop.test",
        "frank_t@example.com",
        "Password reset",
        "delivered",
        (
            ev("processed", 6 * H + 300),
            ev("delivered", 6 * H + 200),
            ev("open", 6 * H + 100),
            ev("open", 6 * H + 90),
            ev("open", 6 * H + 80),
            ev("click", 6 * H + 10),
            ev("click", 6 * H),
        ),
        template_id="tpl-reset",
        teammate="bob",
        api_key_id="key2",
    ),
    Msg(
        "m06",
        "billing@shop.test",
        "bob@example.com",
        "Invoice due",
        "not_delivered",
        (ev("processed", 10 * H + 5), ev("dropped", 10 * H, reason="Unsubscribed Address")),
    ),
    Msg(
        "m07",
        "billing@shop.test",
        "grace@example.net",
        "Invoice paid",
        "delivered",
        (ev("processed", 12 * H + 60), ev("delivered", 12 * H + 30), ev("spamreport", 12 * H)),
        unique_args={"customer": "42"},
    ),
    Msg(
        "m08",
        "alice@shop.test",
        "heidi@example.com",
        "Welcome back",
        "delivered",
        (
            ev("processed", 20 * H + 60),
            ev("delivered", 20 * H + 50),
            ev("unsubscribe", 20 * H + 10),
            ev("group_unsubscribe", 20 * H),
        ),
        asm_group_id=7,
    ),
    Msg(
        "m09",
        "news@shop.test",
        "ivan@example.com",
        "Weekly news",
        "delivered",
        (
            ev("processed", 24 * H + 60),
            ev("delivered", 24 * H + 30),
            ev("group_resubscribe", 24 * H),
        ),
        categories=("news",),
    ),
    Msg(
        "m10",
        "alice@shop.test",
        "BOB@example.com",
        "welcome aboard",
        "processed",
        (ev("processed", 30 * H),),
        template_id="tpl-welcome",
    ),
    Msg(
        "m11",
        "support@shop.test",
        "judy@example.com",
        'Re: "quoted" subject',
        "delivered",
        (ev("processed", 36 * H + 5), ev("delivered", 36 * H)),
    ),
    Msg(
        "m12",
        "support@shop.test",
        "mallory@example.com",
        "Ticket_42 update",
        "delivered",
        (
            ev("processed", 40 * H + 900),
            ev("deferred", 40 * H + 600, attempt_num=1),
            ev("deferred", 40 * H + 300, attempt_num=2),
            ev("delivered", 40 * H),
        ),
    ),
    Msg(
        "m13",
        "sub@shop.test",
        "oscar@example.com",
        "Sub message",
        "delivered",
        (ev("processed", 4 * H + 5), ev("delivered", 4 * H)),
        owner="sub",
    ),
    # Three days old: outside the default two-day window, inside the extended one.
    Msg(
        "m14",
        "alice@shop.test",
        "bob@example.com",
        "Old news",
        "delivered",
        (ev("processed", 3 * DAY + 5), ev("delivered", 3 * DAY)),
    ),
    # Seventy days old: outside every window.
    Msg(
        "m15",
        "alice@shop.test",
        "bob@example.com",
        "Ancient news",
        "delivered",
        (ev("processed", 70 * DAY + 5), ev("delivered", 70 * DAY)),
    ),
    # Recent open, but processed outside the window: Contains(events, "processed") is false.
    Msg(
        "m16",
        "alice@shop.test",
        "peggy@example.com",
        "Slow reader",
        "delivered",
        (ev("processed", 50 * H + 5), ev("delivered", 50 * H), ev("open", 8 * H)),
    ),
    # Another account's message, like m01 in every field: never visible to the owner.
    Msg(
        "o01",
        "alice@shop.test",
        "bob@example.com",
        "Welcome aboard",
        "delivered",
        (ev("processed", 1 * H + 50), ev("delivered", 1 * H + 40), ev("bounce", 1 * H)),
        owner="other",
        template_id="tpl-welcome",
        categories=("welcome", "news"),
        unique_args={"customer": "42"},
    ),
)

# What the owner's main user sees at `now` with the default two-day window.
VISIBLE = frozenset(m.id for m in MESSAGES if m.owner != "other" and m.id not in ("m14", "m15"))
ALL_OWNED = frozenset(m.id for m in MESSAGES if m.owner != "other")


@dataclass
class World:
    owner: Principal
    sub: Principal
    other: Principal
    sub_key: str
    other_key: str


async def make_world(engine: AsyncEngine, owner_key: str) -> World:
    """The owner (from settings), a subaccount of it, and an unrelated account."""
    async with engine.begin() as conn:
        owner = await accounts.authenticate_bearer(conn, owner_key)
        sub_key = "5AB5AB00-0000-4000-8000-00000000AC71"
        # Written directly: create_subaccount would spend ~0.3 s hashing a password.
        sub_id = (
            await conn.execute(
                sa.insert(tables.users)
                .values(
                    account_id=owner.account.id,
                    username="activity-sub",
                    password_hash=accounts.NO_PASSWORD,
                    is_main=False,
                    created_at=0,
                )
                .returning(tables.users.c.id)
            )
        ).scalar_one()
        await conn.execute(
            sa.insert(tables.api_keys).values(
                user_id=sub_id, key_hash=security.hash_api_key(sub_key), created_at=0
            )
        )
        other = await accounts.create_account(
            conn, username="activity-stranger", login_password=False
        )
        return World(
            owner=owner,
            sub=await accounts.authenticate_bearer(conn, sub_key),
            other=await accounts.authenticate_bearer(conn, other.api_key),
            sub_key=sub_key,
            other_key=other.api_key,
        )


async def insert_messages(
    engine: AsyncEngine, world: World, now: float, messages: tuple[Msg, ...] = MESSAGES
) -> None:
    async with engine.begin() as conn:
        for message in messages:
            await insert_message(conn, world, now, message)


async def insert_message(conn: AsyncConnection, world: World, now: float, m: Msg) -> None:
    who = {"main": world.owner, "sub": world.sub, "other": world.other}[m.owner]
    account_id, user_id = who.account.id, who.user.id
    times = [now - ago for _, ago, _ in m.events]
    await conn.execute(
        tables.email_activity.insert().values(
            message_id=m.id,
            account_id=account_id,
            user_id=user_id,
            from_email=m.from_email,
            to_email=m.to_email,
            subject=m.subject,
            status=m.status,
            template_id=m.template_id,
            api_key_id=m.api_key_id,
            originating_ip=m.originating_ip,
            outbound_ip=m.outbound_ip,
            outbound_ip_type=m.outbound_ip_type,
            teammate=m.teammate,
            asm_group_id=m.asm_group_id,
            categories=list(m.categories),
            unique_args=m.unique_args,
            opens_count=sum(1 for kind, _, _ in m.events if kind == "open"),
            clicks_count=sum(1 for kind, _, _ in m.events if kind == "click"),
            last_event_time=max(times),
            created_at=min(times),
        )
    )
    for category in m.categories:
        await conn.execute(
            tables.email_activity_categories.insert().values(
                message_id=m.id, category=category, account_id=account_id
            )
        )
    for key, value in m.unique_args.items():
        await conn.execute(
            tables.email_activity_args.insert().values(
                message_id=m.id, key=key, value=value, account_id=account_id
            )
        )
    await conn.execute(
        tables.events.insert(),
        [
            {
                "message_id": m.id,
                "account_id": account_id,
                "user_id": user_id,
                "channel": "email",
                "type": kind,
                "occurred_at": now - ago,
                "data": data,
            }
            for kind, ago, data in m.events
        ],
    )


async def set_extended(engine: AsyncEngine, account_id: int, on: bool) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            sa.update(tables.accounts)
            .where(tables.accounts.c.id == account_id)
            .values(settings={"email_activity_extended": on})
        )
