"""Property tests: random valid queries never fail, arbitrary text never gets a 500, and
`q` and `NOT (q)` split the visible messages into two disjoint halves.

Hypothesis drives a synchronous function from a worker thread; each example runs its
coroutine on the test's event loop (which is free while the thread works).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from activity_rows import VISIBLE, H, World, insert_messages, make_world
from dovecote.activity import search as activity
from dovecote.settings import Settings

NOW = 1_700_000_000.0
EXAMPLES = 60

TEXT_FIELDS = [
    "msg_id", "from_email", "subject", "to_email", "status", "template_id",
    "api_key_id", "originating_ip", "outbound_ip", "teammate",
]  # fmt: skip
NUMBER_FIELDS = ["clicks", "opens", "unsubscribe_group_id", "asm_group_id"]
KNOWN_TEXT = [
    "m01", "alice@shop.test", "bob@example.com", "Welcome aboard", "delivered", "processed",
    "not_delivered", "tpl-welcome", "key1", "10.0.0.1", "192.0.2.10", "alice", "", "%",
    "news%", "%a%", "Weekly news", 'Re: "quoted" subject',
]  # fmt: skip
EVENT_NAMES = [
    "bounced", "opened", "clicked", "processed", "dropped", "delivered", "deferred",
    "spam_report", "unsubscribe", "group_unsubscribe", "group_resubscribe", "bounce", "open",
]  # fmt: skip
CATEGORIES = ["news", "promo", "welcome", "receipt", "onboarding", "nope"]


def quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def kw(word: str) -> st.SearchStrategy[str]:
    return st.sampled_from([word, word.lower(), word.capitalize()])


chars = st.characters(codec="utf-8", exclude_characters="\x00")  # no surrogates, no NUL
texts = st.one_of(st.sampled_from(KNOWN_TEXT), st.text(alphabet=chars, max_size=6)).map(quote)
numbers = st.one_of(
    st.integers(-2, 10).map(str), st.just("1.5"), st.integers(0, 9).map(str).map(quote)
)
times = st.integers(0, 80 * int(H)).map(
    lambda ago: (
        'TIMESTAMP "' + datetime.fromtimestamp(NOW - ago, UTC).strftime("%Y-%m-%dT%H:%M:%SZ") + '"'
    )
)
comparisons = st.sampled_from(["=", "!=", "<>", "<", ">", "<=", ">="])


def scalar_leaves(
    fields: st.SearchStrategy[str], values: st.SearchStrategy[str], *, like: bool
) -> st.SearchStrategy[str]:
    options = [
        st.builds("{} {} {}".format, fields, comparisons, values),
        st.builds("{} {} {} {} {}".format, fields, kw("BETWEEN"), values, kw("AND"), values),
        st.builds("{} NOT BETWEEN {} AND {}".format, fields, values, values),
        st.builds(
            "{} {} ({})".format,
            fields,
            st.sampled_from(["IN", "not in"]),
            st.lists(values, min_size=1, max_size=3).map(", ".join),
        ),
        st.builds("{} {}".format, fields, st.sampled_from(["IS NULL", "is not null"])),
    ]
    if like:
        options.append(
            st.builds("{} {} {}".format, fields, st.sampled_from(["LIKE", "NOT LIKE"]), values)
        )
    return st.one_of(*options)


set_leaves = st.one_of(
    st.builds("Contains(events, {})".format, st.sampled_from(EVENT_NAMES).map(quote)),
    st.builds(
        "events {} {}".format, st.sampled_from(["=", "!="]), st.sampled_from(EVENT_NAMES).map(quote)
    ),
    st.builds("CONTAINS(categories, {})".format, st.sampled_from(CATEGORIES).map(quote)),
    st.builds(
        "categories {} ({})".format,
        st.sampled_from(["IN", "NOT IN"]),
        st.lists(st.sampled_from(CATEGORIES).map(quote), min_size=1, max_size=3).map(", ".join),
    ),
    st.builds("categories LIKE {}".format, st.sampled_from(["n%", "%o%", "x"]).map(quote)),
    st.sampled_from(["events IS NULL", "categories IS NOT NULL", "unique_args IS NULL"]),
    scalar_leaves(
        st.sampled_from(["unique_args['customer']", "unique_args['plan']", 'unique_args["nope"]']),
        st.one_of(st.sampled_from(["42", "43", "pro", "4%"]).map(quote), texts),
        like=True,
    ),
)

leaves = st.one_of(
    scalar_leaves(st.sampled_from(TEXT_FIELDS), texts, like=True),
    scalar_leaves(st.sampled_from(NUMBER_FIELDS), numbers, like=False),
    scalar_leaves(st.just("last_event_time"), times, like=False),
    set_leaves,
)

queries = st.recursive(
    leaves,
    lambda inner: st.one_of(
        st.builds("({}) {} ({})".format, inner, kw("AND"), inner),
        st.builds("{} {} {}".format, inner, kw("OR"), inner),
        st.builds("{} ({})".format, kw("NOT"), inner),
    ),
    max_leaves=6,
)

TOKENS = [
    "status", "subject", "clicks", "events", "unique_args['k']", "last_event_time", "=", "!=",
    "<", "(", ")", ",", "AND", "OR", "NOT", "IN", "BETWEEN", "LIKE", "IS", "NULL", "Contains",
    "TIMESTAMP", '"x"', '"2020-01-01"', "'", '"', "\\", "1", "-1.5", "%", "[", "]", "bogus",
]  # fmt: skip
garbage = st.one_of(
    st.text(alphabet=chars, max_size=40),
    st.lists(st.sampled_from(TOKENS), max_size=12).map(" ".join),
)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"activity_rate_limit": "1000000/second"})


@pytest.fixture
async def world(app: FastAPI, settings: Settings) -> World:
    assert settings.owner_api_key is not None
    created = await make_world(app.state.runtime.engine, settings.owner_api_key)
    await insert_messages(app.state.runtime.engine, created, NOW)
    return created


async def check_each(
    strategy: st.SearchStrategy[str], check: Callable[[str], Coroutine[Any, Any, None]]
) -> None:
    loop = asyncio.get_running_loop()

    @hypothesis_settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(strategy)
    def run(query: str) -> None:
        asyncio.run_coroutine_threadsafe(check(query), loop).result(timeout=60)

    await asyncio.to_thread(run)


async def test_random_valid_queries_always_answer_200(
    client: httpx.AsyncClient, world: World
) -> None:
    async def check(query: str) -> None:
        response = await client.get("/v3/messages", params={"query": query, "limit": 1000})
        assert response.status_code == 200, (query, response.text)

    await check_each(queries, check)


async def test_arbitrary_text_gets_a_400_or_a_200_never_a_500(
    client: httpx.AsyncClient, world: World
) -> None:
    async def check(query: str) -> None:
        response = await client.get("/v3/messages", params={"query": query})
        assert response.status_code in (200, 400), (query, response.text)
        if response.status_code == 400:
            assert response.json()["errors"][0]["message"].startswith("invalid syntax")

    await check_each(garbage, check)


async def test_a_query_and_its_negation_partition_the_visible_messages(
    app: FastAPI, settings: Settings, world: World
) -> None:
    engine = app.state.runtime.engine

    async def ids(conn: object, query: str) -> set[str]:
        found = await activity.search(
            conn,  # type: ignore[arg-type]
            world.owner,
            settings,
            query=query,
            limit=1000,
            now=NOW,
        )
        return {m.msg_id for m in found}

    async def check(query: str) -> None:
        async with engine.connect() as conn:
            matched = await ids(conn, query)
            rest = await ids(conn, f"NOT ({query})")
        assert matched.isdisjoint(rest), (query, matched & rest)
        assert matched | rest == VISIBLE, (query, VISIBLE - matched - rest)

    await check_each(queries, check)
