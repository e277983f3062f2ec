"""The query language against known messages: every field, operator and error, with the
exact set of messages each query finds. One test per backend walks the whole table (a
database per query would make the suite minutes long) and reports every mismatch."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from fastapi import FastAPI

from activity_rows import ALL_OWNED, VISIBLE, H, insert_messages, make_world
from dovecote.activity import search as activity
from dovecote.activity.query import QueryError
from dovecote.settings import Settings

NOW = 1_700_000_000.0  # a fixed clock: times in the table are exact
V = VISIBLE
DELIVERED = {"m01", "m02", "m05", "m07", "m08", "m09", "m11", "m12", "m13", "m16"}
ALICE = {"m01", "m02", "m05", "m08", "m10", "m16"}
# Messages with a `delivered` event inside the window (m16's is 50 hours old).
DELIVERED_EVENT = {"m01", "m02", "m05", "m07", "m08", "m09", "m11", "m12", "m13"}


def iso(ago: float) -> str:
    return datetime.fromtimestamp(NOW - ago, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def spaced(ago: float) -> str:
    return datetime.fromtimestamp(NOW - ago, UTC).strftime("%Y-%m-%d %H:%M:%S")


def offset(ago: float) -> str:
    plus_two = timezone(timedelta(hours=2))
    return datetime.fromtimestamp(NOW - ago, plus_two).isoformat()


MATCHES: list[tuple[str, set[str] | frozenset[str]]] = [
    # msg_id
    ('msg_id="m01"', {"m01"}),
    ('msg_id = "m14"', set()),  # outside the two-day window
    ('msg_id="o01"', set()),  # another account's
    ('msg_id IN ("m01", "m02", "nope")', {"m01", "m02"}),
    ('msg_id = "m01" or msg_id = "m13"', {"m01", "m13"}),
    # from_email / to_email
    ('from_email="alice@shop.test"', ALICE),
    ('from_email != "alice@shop.test"', V - ALICE),
    ('from_email <> "alice@shop.test"', V - ALICE),
    ('to_email="bob@example.com"', {"m01", "m06"}),
    ('to_email LIKE "bob@%"', {"m01", "m06", "m10"}),  # LIKE ignores case
    ('to_email LIKE "%@example.org"', {"m02"}),
    ('to_email LIKE "frank_t%"', {"m05"}),
    ('to_email LIKE "fran__t%"', set()),  # `_` is no wildcard
    ('to_email > "j"', {"m11", "m12", "m13", "m16"}),  # byte order on both backends
    ('to_email BETWEEN "a" AND "c"', {"m01", "m06"}),
    # subject
    ('subject="Welcome aboard"', {"m01"}),  # = is exact
    ('subject LIKE "welcome%"', {"m01", "m08", "m10"}),
    ('subject LIKE "%50\\% off"', {"m03"}),  # escaped %
    ('subject LIKE "%50% off"', {"m03"}),
    ('subject = "Re: \\"quoted\\" subject"', {"m11"}),
    ("subject = 'Re: \"quoted\" subject'", {"m11"}),
    ('subject NOT LIKE "%news%"', V - {"m03", "m04", "m09"}),
    ('subject LIKE "ticket\\_42%"', {"m12"}),
    ("subject = \"x' OR '1'='1\"", set()),
    ('subject = "\\"; DROP TABLE email_activity; --"', set()),
    # status
    ('status="delivered"', DELIVERED),
    ('Status = "delivered"', DELIVERED),
    ('status IN ("processed", "not_delivered")', {"m03", "m04", "m06", "m10"}),
    ('status NOT IN ("processed", "not_delivered")', DELIVERED),
    # nullable text fields: negations include NULL
    ('template_id="tpl-welcome"', {"m01", "m10"}),
    ("template_id IS NULL", V - {"m01", "m05", "m10"}),
    ("template_id IS NOT NULL", {"m01", "m05", "m10"}),
    ('NOT template_id = "tpl-welcome"', V - {"m01", "m10"}),
    ('template_id != "tpl-welcome"', V - {"m01", "m10"}),
    ('template_id NOT LIKE "tpl-%"', V - {"m01", "m05", "m10"}),
    ('api_key_id="key1"', {"m01", "m02"}),
    ('api_key_id IN ("key1","key2")', {"m01", "m02", "m05"}),
    ('originating_ip="10.0.0.1"', {"m01"}),
    ('originating_ip LIKE "10.0.0.%"', {"m01", "m03"}),
    ("originating_ip IS NULL", V - {"m01", "m03"}),
    ('outbound_ip="192.0.2.10"', {"m01"}),
    ('outbound_ip NOT BETWEEN "192.0.2.10" AND "192.0.2.10"', V - {"m01"}),
    ('teammate="alice"', {"m01"}),
    ('teammate NOT IN ("alice")', V - {"m01"}),
    ('teammate < "b"', {"m01"}),
    # numbers
    ("unsubscribe_group_id=7", {"m01", "m08"}),
    ('unsubscribe_group_id="7"', {"m01", "m08"}),
    ("asm_group_id = 8", {"m04"}),
    ("unsubscribe_group_id IS NULL", V - {"m01", "m04", "m08"}),
    ("unsubscribe_group_id > 7", {"m04"}),
    ("NOT unsubscribe_group_id > 7", V - {"m04"}),
    ("clicks > 0", {"m01", "m05"}),
    ('clicks="0"', V - {"m01", "m05"}),
    ("opens >= 2", {"m01", "m05"}),
    ("opens BETWEEN 1 AND 2", {"m01", "m16"}),
    ("opens NOT BETWEEN 1 AND 2", V - {"m01", "m16"}),
    ("clicks IN (1, 2)", {"m01", "m05"}),
    ("opens < 1.5", V - {"m01", "m05"}),
    ("clicks = 1.5", set()),
    ("opens > -1", V),
    # last_event_time: whole seconds, ISO 8601, `YYYY-MM-DD HH:MM:SS`, offsets, Unix time
    (
        f'last_event_time BETWEEN TIMESTAMP "{iso(7 * H)}" AND TIMESTAMP "{iso(1.5 * H)}"',
        {"m02", "m03", "m04", "m05", "m13"},
    ),
    (f'last_event_time > TIMESTAMP "{iso(5 * H)}"', {"m01", "m02", "m03", "m13"}),
    (f'last_event_time >= TIMESTAMP "{spaced(5 * H)}"', {"m01", "m02", "m03", "m04", "m13"}),
    (f'last_event_time = TIMESTAMP "{iso(5 * H)}"', {"m04"}),
    (f'last_event_time < "{iso(24 * H)}"', {"m10", "m11", "m12"}),
    (f'last_event_time <= TIMESTAMP "{offset(24 * H)}"', {"m09", "m10", "m11", "m12"}),
    (f"last_event_time > {int(NOW - 3 * H)}", {"m01", "m02"}),
    (
        f'last_event_time IN (TIMESTAMP "{iso(1 * H)}", TIMESTAMP "{iso(2 * H)}")',
        {"m01", "m02"},
    ),
    ("last_event_time IS NULL", set()),
    ("last_event_time IS NOT NULL", V),
    # events: only those inside the window count
    ('Contains(events, "bounced")', {"m03"}),
    ('Contains(events, "bounce")', {"m03"}),
    ('Contains(events,"opened")', {"m01", "m05", "m16"}),
    ('Contains(events, "clicked")', {"m01", "m05"}),
    ('Contains(events, "deferred")', {"m02", "m12"}),
    ('Contains(events, "dropped")', {"m06"}),
    ('Contains(events, "spam_report")', {"m07"}),
    ('Contains(events, "unsubscribe")', {"m08"}),
    ('Contains(events, "group_unsubscribe")', {"m08"}),
    ('Contains(events, "group_resubscribe")', {"m09"}),
    ('Contains(events, "processed")', V - {"m16"}),
    ('NOT Contains(events, "processed")', {"m16"}),
    ('events = "delivered"', DELIVERED_EVENT),
    ('CONTAINS(EVENTS, "Delivered")', DELIVERED_EVENT),
    ('events != "delivered"', V - DELIVERED_EVENT),
    ('events IN ("bounced", "dropped")', {"m03", "m06"}),
    ("events IS NULL", set()),
    # categories
    ('Contains(categories, "news")', {"m03", "m04", "m09"}),
    ('categories = "promo"', {"m04"}),
    ('categories IN ("welcome", "receipt")', {"m01", "m02"}),
    ('categories LIKE "on%"', {"m01"}),
    ("categories IS NULL", V - {"m01", "m02", "m03", "m04", "m09"}),
    ('NOT Contains(categories, "news")', V - {"m03", "m04", "m09"}),
    # unique_args
    ("unique_args['customer']=\"42\"", {"m01", "m07"}),
    ("unique_args['customer'] != \"42\"", V - {"m01", "m07"}),
    ('unique_args[\'customer\'] IN ("42", "43")', {"m01", "m02", "m07"}),
    ("unique_args['plan'] IS NOT NULL", {"m01"}),
    ('unique_args["customer"] > "42"', {"m02"}),
    ("unique_args['customer'] LIKE \"4%\"", {"m01", "m02", "m07"}),
    ('unique_args[\'customer\'] BETWEEN "40" AND "42"', {"m01", "m07"}),
    ("unique_args IS NULL", V - {"m01", "m02", "m07"}),
    # AND, OR, NOT, parentheses, precedence (NOT > AND > OR), keyword case
    ('from_email="alice@shop.test" AND status="delivered"', {"m01", "m02", "m05", "m08", "m16"}),
    ('to_email="bob@example.com" OR to_email="carol@example.org"', {"m01", "m02", "m06"}),
    (
        '(status="processed" OR Contains(events,"bounced")) AND from_email="news@shop.test"',
        {"m03", "m04"},
    ),
    ('NOT (status="delivered")', V - DELIVERED),
    ('NOT NOT status="delivered"', DELIVERED),
    ('status="delivered" and not from_email="alice@shop.test"', DELIVERED - ALICE),
    (
        'status="processed" OR status="delivered" AND from_email="billing@shop.test"',
        {"m04", "m07", "m10"},
    ),
    ('NOT (template_id = "tpl-welcome" OR teammate IS NOT NULL)', V - {"m01", "m05", "m10"}),
    # Parentheses add no depth to the parse tree: deep nesting is harmless, no 500.
    ("(" * 500 + 'status="delivered"' + ")" * 500, DELIVERED),
    # no query at all: everything visible
    ("", V),
    ("   ", V),
]

ERRORS: list[tuple[str, str]] = [
    ('bad_field = "x"', "invalid syntax: 'bad_field' is not a known field"),
    ('status = "a" AND nope IS NULL', "invalid syntax: 'nope' is not a known field"),
    ("BAD_FIELD IS NULL", "invalid syntax: 'BAD_FIELD' is not a known field"),
    ("status =", "invalid syntax: unexpected end of query"),
    ('status = "a" AND', "invalid syntax: unexpected end of query"),
    ('(status = "x"', "invalid syntax: unexpected end of query"),
    ("status = delivered", "invalid syntax: unquoted value 'delivered' at character 10"),
    ('subject = "unterminated', "invalid syntax: unterminated string starting at character 11"),
    ('status == "x"', "invalid syntax: unexpected '=' at character 9"),
    ('status = "x")', "invalid syntax: unexpected ')' at character 13"),
    ('status = "x" & clicks > 1', "invalid syntax: unexpected character '&' at character 14"),
    ("status = NULL", "invalid syntax: unexpected 'NULL' at character 10"),
    ('clicks = "abc"', "invalid syntax: 'clicks' needs a number, got \"abc\""),
    (
        "clicks > 99999999999999999999",
        "invalid syntax: the number 99999999999999999999 is out of range",
    ),
    ('clicks LIKE "1%"', "invalid syntax: LIKE needs a text field, not 'clicks'"),
    ('last_event_time LIKE "1%"', "invalid syntax: LIKE needs a text field, not 'last_event_time'"),
    (
        'Contains(subject, "x")',
        "invalid syntax: Contains() works on events and categories, not 'subject'",
    ),
    ('Contains(events, "exploded")', "invalid syntax: 'exploded' is not an event; use one of "),
    ('last_event_time > "yesterday"', "invalid syntax: 'yesterday' is not a timestamp"),
    ('last_event_time > TIMESTAMP "2017-13-45"', "invalid syntax: '2017-13-45' is not a timestamp"),
    (
        'subject = TIMESTAMP "2020-01-01"',
        "invalid syntax: 'subject' is not a time; TIMESTAMP does not apply",
    ),
    ("subject['k'] = \"x\"", "invalid syntax: 'subject' takes no ['key']"),
    ('unique_args = "x"', "invalid syntax: name the argument, e.g. unique_args['customer']=\"42\""),
    ('Contains(unique_args, "customer")', "invalid syntax: name the argument"),
    ('events > "bounced"', "invalid syntax: 'events' supports =, !=, IN, IS NULL and Contains()"),
    (
        'categories < "x"',
        "invalid syntax: 'categories' supports =, !=, IN, IS NULL and Contains() and LIKE",
    ),
    ("NOT " * 100 + 'status="x"', "invalid syntax: the query nests deeper than 64 levels"),
    (
        'subject = "' + "x" * 10_000 + '"',
        "invalid syntax: the query is longer than 10000 characters",
    ),
    ('status = "\x00"', "invalid syntax: the query contains a NUL character"),
]


async def test_every_query_finds_exactly_its_messages(app: FastAPI, settings: Settings) -> None:
    engine = app.state.runtime.engine
    assert settings.owner_api_key is not None
    world = await make_world(engine, settings.owner_api_key)
    await insert_messages(engine, world, NOW)

    wrong: list[str] = []
    async with engine.connect() as conn:
        for query, expected in MATCHES:
            try:
                found = await activity.search(
                    conn, world.owner, settings, query=query, limit=1000, now=NOW
                )
            except QueryError as exc:
                wrong.append(f"{query!r}: unexpected error {exc.message}")
                continue
            ids = {m.msg_id for m in found}
            if ids != set(expected):
                wrong.append(
                    f"{query!r}: missing {sorted(set(expected) - ids)}, extra {sorted(ids - set(expected))}"
                )
    assert not wrong, "\n".join(wrong)
    assert len(MATCHES) >= 60


async def test_every_bad_query_gets_its_message(app: FastAPI, settings: Settings) -> None:
    engine = app.state.runtime.engine
    assert settings.owner_api_key is not None
    world = await make_world(engine, settings.owner_api_key)
    wrong: list[str] = []
    async with engine.connect() as conn:
        for query, message in ERRORS:
            try:
                await activity.search(conn, world.owner, settings, query=query, now=NOW)
            except QueryError as exc:
                if not exc.message.startswith(message):
                    wrong.append(f"{query[:60]!r}: got {exc.message!r}, want {message!r}")
            else:
                wrong.append(f"{query[:60]!r}: no error")
    assert not wrong, "\n".join(wrong)


async def test_results_are_newest_first_limited_and_scoped_to_the_caller(
    app: FastAPI, settings: Settings
) -> None:
    engine = app.state.runtime.engine
    assert settings.owner_api_key is not None
    world = await make_world(engine, settings.owner_api_key)
    await insert_messages(engine, world, NOW)
    newest_first = [
        "m01", "m02", "m03", "m13", "m04", "m05", "m16",
        "m06", "m07", "m08", "m09", "m10", "m11", "m12",
    ]  # fmt: skip
    async with engine.connect() as conn:
        everything = await activity.search(
            conn, world.owner, settings, query=None, limit=1000, now=NOW
        )
        default = await activity.search(conn, world.owner, settings, query=None, now=NOW)
        three = await activity.search(conn, world.owner, settings, query="", limit=3, now=NOW)
    assert [m.msg_id for m in everything] == newest_first
    assert [m.msg_id for m in default] == newest_first[:10]
    assert [m.msg_id for m in three] == newest_first[:3]

    async with engine.connect() as conn:
        mine = await activity.search(conn, world.sub, settings, query=None, limit=1000, now=NOW)
        none = await activity.search(
            conn, world.sub, settings, query='from_email="alice@shop.test"', now=NOW
        )
        theirs = await activity.search(conn, world.other, settings, query=None, limit=1000, now=NOW)
    # A subaccount sees only what it sent; another account only its own message.
    assert [m.msg_id for m in mine] == ["m13"]
    assert none == []
    assert [m.msg_id for m in theirs] == ["o01"]
    assert "o01" not in ALL_OWNED
