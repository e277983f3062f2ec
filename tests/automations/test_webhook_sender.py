"""Automation rules fire signed, queued, retried webhooks: inbound and receipt rules end to
end, through a real loopback receiver, verified with the `standardwebhooks` library."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from standardwebhooks.webhooks import WebhookVerificationError

from dispatch_support import deliver
from dovecote import wiring
from dovecote.automations import webhook_sender
from dovecote.automations.webhook_sender import WebhookSender
from dovecote.pipeline import webhook_queue
from dovecote.settings import Settings
from dovecote.storage.tables import automation_actions, messages, webhook_deliveries
from email_support import add_address, engine_of, select, until
from sms_support import as_caller, dribble, other_account, owner, subaccount
from webhook_support import Clock, Received, receiver

YES_RULE = {
    "rule_name": "Yes",
    "dedicated_number": "*",
    "message_search_type": 2,
    "message_search_term": "yes",
    "action": "URL",
    "enabled": 1,
}


async def make_rule(client: httpx.AsyncClient, path: str, **fields: Any) -> dict[str, Any]:
    response = await client.post(f"/v3/automations/{path}", json=fields)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


async def inbound(client: httpx.AsyncClient, body: str, sender: str = "+61411111111") -> str:
    response = await client.post(
        "/sandbox/sms/inbound", json={"from": sender, "to": "+61298441484", "body": body}
    )
    assert response.status_code == 200, response.text
    return str(response.json()["data"]["message_id"])


async def secret(client: httpx.AsyncClient) -> str:
    return str((await client.get("/dovecote/webhooks/secret")).json()["data"]["secret"])


def sender_for(
    app: FastAPI, settings: Settings, clock: Clock | None = None, **options: Any
) -> WebhookSender:
    return WebhookSender(engine_of(app), settings, clock=clock or time.time, **options)


async def test_an_inbound_rule_posts_clicksends_form_signed_by_standard_webhooks(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings
) -> None:
    with receiver() as peer:
        await make_rule(client, "sms/inbound", **YES_RULE, action_address=peer.url)
        await make_rule(
            client,
            "sms/inbound",
            **{**YES_RULE, "message_search_term": "stop"},
            action_address=peer.url,
        )
        message_id = await inbound(client, "YES please")
        sender = sender_for(app, settings)
        try:
            assert await sender.drain() == 1
        finally:
            await sender.close()
        key = await secret(client)

    [request] = peer.requests
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    peer.verify(key, request)
    form = {
        name: values[0]
        for name, values in parse_qs(request.body.decode(), keep_blank_values=True).items()
    }
    assert form["message_id"] == message_id
    assert (form["from"], form["to"], form["body"]) == (
        "+61411111111",
        "+61298441484",
        "YES please",
    )
    assert form["_keyword"] == "yes"
    assert request.headers["webhook-id"].startswith("msg_")

    tampered = Received(request.path, request.headers, request.body + b"&x=1", 200)
    with pytest.raises(WebhookVerificationError):
        peer.verify(key, tampered)
    stale = {**request.headers, "webhook-timestamp": str(int(time.time()) - 600)}
    with pytest.raises(WebhookVerificationError):
        peer.verify(key, Received(request.path, stale, request.body, 200))


async def test_a_receipt_rule_fires_from_the_dispatchers_receipt_and_match_type_filters(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings
) -> None:
    with receiver() as peer:
        await make_rule(
            client,
            "sms/receipts",
            rule_name="All",
            match_type=0,
            action="URL",
            action_address=peer.url + "?all",
            enabled=1,
        )
        await make_rule(
            client,
            "sms/receipts",
            rule_name="Failed only",
            match_type=1,
            action="URL",
            action_address=peer.url + "?failed",
            enabled=1,
        )
        sent = await client.post(
            "/v3/sms/send",
            json={"messages": [{"to": "+61412345678", "body": "Hi", "custom_string": "ref-1"}]},
        )
        message_id = sent.json()["data"]["messages"][0]["message_id"]
        while await deliver(engine_of(app), settings):
            pass
        sender = sender_for(app, settings)
        try:
            await sender.drain()
        finally:
            await sender.close()
        key = await secret(client)

    [request] = peer.requests
    assert request.path.endswith("?all")
    peer.verify(key, request)
    document = {k: v[0] for k, v in parse_qs(request.body.decode()).items()}
    assert document["message_id"] == message_id
    assert document["custom_string"] == "ref-1"
    assert str(document["status_code"]) == "201"


async def test_a_receiver_down_for_three_minutes_gets_everything_afterwards_once_each(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings
) -> None:
    clock = Clock(time.time())
    with receiver() as peer:
        await make_rule(
            client, "sms/inbound", **YES_RULE, action_address=peer.url, webhook_type="json"
        )
        back_at = clock.now + 180
        peer.answer = lambda request: 503 if clock.now < back_at else 200
        ids = [await inbound(client, f"yes #{n}") for n in range(5)]
        sender = sender_for(app, settings, clock)
        try:
            while clock.now < back_at + 600:
                await sender.drain()
                clock.advance(10)
        finally:
            await sender.close()
        key = await secret(client)

    delivered = peer.delivered()
    assert sorted(json.loads(r.body)["message_id"] for r in delivered) == sorted(ids)
    assert len({r.headers["webhook-id"] for r in delivered}) == 5  # once each
    assert all(r.answered == 503 for r in peer.requests if r not in delivered)
    for request in peer.requests:  # retries keep their webhook-id and verify
        peer.verify(key, request)
    rows = await select(engine_of(app), sa.select(webhook_deliveries))
    assert {r["status"] for r in rows} == {"delivered"}
    assert all(r["attempts"] >= 2 for r in rows)


async def test_a_receiver_failing_forever_ends_dead_lettered_pauses_the_rule_and_replay_delivers(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings
) -> None:
    clock = Clock(time.time())
    strict = settings.model_copy(update={"webhook_pause_after": 1})
    with receiver() as peer:
        rule = await make_rule(client, "sms/inbound", **YES_RULE, action_address=peer.url)
        peer.status = 500
        await inbound(client, "yes")
        sender = sender_for(app, strict, clock)
        try:
            for _ in range(webhook_queue.MAX_ATTEMPTS + 2):
                await sender.drain()
                clock.advance(9 * 3600)
            assert len(peer.requests) == webhook_queue.MAX_ATTEMPTS
            listed = (await client.get("/dovecote/webhooks/deliveries")).json()["data"]
            [dead] = listed["data"]
            assert (dead["status"], dead["attempts"], dead["last_response_code"]) == (
                "dead",
                webhook_queue.MAX_ATTEMPTS,
                500,
            )
            assert dead["latency_ms"] is not None
            path = f"/v3/automations/sms/inbound/{rule['inbound_rule_id']}"
            paused = (await client.get(path)).json()["data"]
            assert paused["enabled"] == 0
            assert "dead-lettered" in paused["paused_reason"]
            # A paused rule fires nothing.
            await inbound(client, "yes again")
            assert await sender.drain() == 0

            peer.status = 200
            replayed = await client.post("/dovecote/webhooks/replay-dead")
            assert replayed.json()["data"] == {"replayed": 1}
            assert await sender.drain() == 1
            assert peer.requests[-1].headers["webhook-id"] == peer.requests[0].headers["webhook-id"]
            one = await client.post(f"/dovecote/webhooks/deliveries/{dead['delivery_id']}/replay")
            assert one.status_code == 200
            assert await sender.drain() == 1
            assert len(peer.delivered()) == 2

            resumed = (await client.put(path, json={"enabled": 1})).json()["data"]
            assert (resumed["enabled"], resumed["paused_reason"]) == (1, None)
        finally:
            await sender.close()


async def test_a_dribbling_receiver_is_cut_at_the_timeout_and_others_are_not_held(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings
) -> None:
    server = await asyncio.start_server(dribble, "127.0.0.1", 0)
    slow_url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/slow"
    try:
        with receiver() as peer:
            await make_rule(client, "sms/inbound", **YES_RULE, action_address=slow_url)
            await make_rule(client, "sms/inbound", **YES_RULE, action_address=peer.url)
            await inbound(client, "yes")
            sender = sender_for(app, settings, timeout=1.0)
            started = time.perf_counter()
            try:
                await sender.start_pass()
                await until(lambda: bool(peer.requests))
                fast_at = time.perf_counter() - started
                await sender.drain()
            finally:
                await sender.close()
            took = time.perf_counter() - started
    finally:
        server.close()
        await server.wait_closed()
    assert fast_at < 0.9  # the fast receiver did not wait for the slow one
    assert took < 3.0
    rows = {r["url"]: r for r in await select(engine_of(app), sa.select(webhook_deliveries))}
    assert rows[peer.url]["status"] == "delivered"
    slow = rows[slow_url]
    assert slow["status"] == "pending" and slow["attempts"] == 1
    assert "no answer within 1 seconds" in slow["last_error"]


async def test_after_a_rotation_both_secrets_sign_for_a_day(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings
) -> None:
    with receiver() as peer:
        await make_rule(client, "sms/inbound", **YES_RULE, action_address=peer.url)
        old = await secret(client)
        rotated = (await client.post("/dovecote/webhooks/secret")).json()["data"]
        assert rotated["previous_secret"] == old and rotated["secret"] != old
        assert rotated["previous_expires_at"] == pytest.approx(time.time() + 86400, abs=60)
        await inbound(client, "yes")
        sender = sender_for(app, settings)
        try:
            await sender.drain()
        finally:
            await sender.close()
    [request] = peer.requests
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    peer.verify(old, request)
    peer.verify(rotated["secret"], request)


async def test_a_secret_no_key_opens_fails_that_accounts_deliveries_until_it_rotates(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings
) -> None:
    # The server's key changed without DOVECOTE_SECRET_KEY_PREVIOUS after the secret was
    # made: its deliveries fail (never sent unsigned) and a rotation starts afresh.
    with receiver() as peer:
        await make_rule(client, "sms/inbound", **YES_RULE, action_address=peer.url)
        await secret(client)
        lost = settings.model_copy(update={"secret_key": "a-key-the-secret-was-not-sealed-with"})
        app.state.runtime.settings = lost
        shown = await client.get("/dovecote/webhooks/secret")
        assert shown.status_code == 400 and "Rotate it" in shown.text
        await inbound(client, "yes")
        sender = sender_for(app, lost)
        try:
            await sender.drain()
            [failed] = await select(engine_of(app), sa.select(webhook_deliveries))
            assert peer.requests == [] and failed["attempts"] == 1
            assert "webhook secret is unreadable" in failed["last_error"]

            rotated = (await client.post("/dovecote/webhooks/secret")).json()["data"]
            assert rotated["previous_secret"] is None
            assert (await secret(client)) == rotated["secret"]
            await inbound(client, "yes")
            await sender.drain()
        finally:
            await sender.close()
    assert peer.requests
    for request in peer.requests:
        peer.verify(rotated["secret"], request)


async def test_redirects_are_not_followed_and_private_addresses_refused_when_configured(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings
) -> None:
    with receiver() as peer:
        peer.status = 302
        peer.headers = {"location": peer.url + "/elsewhere"}
        await make_rule(client, "sms/inbound", **YES_RULE, action_address=peer.url)
        await inbound(client, "yes")
        sender = sender_for(app, settings)
        try:
            await sender.drain()
        finally:
            await sender.close()
        assert [r.path for r in peer.requests] == ["/hook"]
        guarded = sender_for(app, settings.model_copy(update={"fetch_allow_private": False}))
        await client.post("/dovecote/webhooks/replay-dead")
        try:
            await guarded.drain()
        finally:
            await guarded.close()
        assert len(peer.requests) == 1  # never connected
    [row] = await select(engine_of(app), sa.select(webhook_deliveries))
    assert row["status"] == "pending"
    assert "non-public address" in row["last_error"]


async def test_deliveries_and_secrets_are_the_accounts_own_and_need_access_settings(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings
) -> None:
    with receiver() as peer:
        await make_rule(client, "sms/inbound", **YES_RULE, action_address=peer.url)
        await inbound(client, "yes")
    [row] = await select(engine_of(app), sa.select(webhook_deliveries))
    stranger = await other_account(engine_of(app))
    async with as_caller(app, stranger) as theirs:
        assert (await theirs.get("/dovecote/webhooks/deliveries")).json()["data"]["total"] == 0
        replay = await theirs.post(f"/dovecote/webhooks/deliveries/{row['id']}/replay")
        assert replay.status_code == 404
        assert (await theirs.get("/dovecote/webhooks/secret")).json()["data"][
            "secret"
        ] != await secret(client)
    mine = (await client.get("/dovecote/webhooks/deliveries")).json()["data"]
    assert [d["delivery_id"] for d in mine["data"]] == [row["id"]]
    me = await owner(client, settings)
    sub = await subaccount(client, me, "helper", reporting=True)
    await client.put(f"/v3/subaccounts/{sub.user_id}", json={"access_settings": 0})
    async with as_caller(app, sub) as limited:
        for method, path in (
            ("GET", "/dovecote/webhooks/deliveries"),
            ("GET", "/dovecote/webhooks/secret"),
            ("POST", "/dovecote/webhooks/secret"),
            ("POST", "/dovecote/webhooks/replay-dead"),
            ("POST", f"/dovecote/webhooks/deliveries/{row['id']}/replay"),
        ):
            assert (await limited.request(method, path)).status_code == 403, path


async def test_the_wired_worker_delivers_webhooks_and_runs_actions_on_its_own(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings
) -> None:
    worker = wiring.build_worker(app.state.runtime)
    with receiver() as peer:
        await make_rule(client, "sms/inbound", **YES_RULE, action_address=peer.url)
        await make_rule(
            client, "sms/inbound", **{**YES_RULE, "action": "AUTO_REPLY"}, action_address="Hi!"
        )
        worker.start()
        try:
            await inbound(client, "yes", sender="+61412345678")
            await until(lambda: bool(peer.delivered()))
            await until_async(app)
        finally:
            await worker.stop()


async def until_async(app: FastAPI, seconds: float = 5.0) -> None:
    """Until the auto-reply SMS has been queued by the worker's action job."""
    deadline = time.monotonic() + seconds
    query = sa.select(messages.c.id).where(messages.c.source == "automation")
    while not await select(engine_of(app), query):
        assert time.monotonic() < deadline, "the auto-reply was never sent"
        await asyncio.sleep(0.02)


async def test_email_receipts_fire_email_rules_from_the_email_channels_own_events(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings
) -> None:
    # Email writes `delivered` and `bounce` (SendGrid's names), not SMS's `receipt`: the
    # sink reads which is which from the channel spec.
    scripted = settings.model_copy(update={"sandbox_rules": ["bounce@=reject"]})
    me = await owner(client, settings)
    address_id = await add_address(engine_of(app), me.account_id, me.user_id, "me@example.com")
    with receiver() as peer:
        await make_rule(
            client, "email/receipts", rule_name="Bounces", match_type=1, action="URL",
            action_address=peer.url, webhook_type="json", enabled=1,
        )  # fmt: skip
        for to in ("john@example.net", "bounce@example.net"):
            sent = await client.post(
                "/v3/email/send",
                json={
                    "to": [{"email": to}],
                    "from": {"email_address_id": address_id},
                    "subject": "Hi",
                    "body": "<p>Hi</p>",
                },
            )
            assert sent.status_code == 200, sent.text
        while await deliver(engine_of(app), scripted):
            pass
        sender = sender_for(app, settings)
        try:
            await sender.drain()
        finally:
            await sender.close()
        key = await secret(client)
    [request] = peer.requests
    peer.verify(key, request)
    document = json.loads(request.body)
    assert (document["message_type"], document["status"], document["status_code"]) == (
        "email",
        "Failed",
        300,
    )
    assert "Recipient rejected" in document["error_text"]


async def test_the_retention_job_purges_old_finished_work_only(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings
) -> None:
    with receiver() as peer:
        await make_rule(client, "sms/inbound", **YES_RULE, action_address=peer.url)
        await make_rule(
            client, "sms/inbound", **{**YES_RULE, "action": "EMAIL_USER"}, action_address=""
        )
        await inbound(client, "yes")
        await inbound(client, "yes again")
        sender = sender_for(app, settings)
        try:
            await sender.drain()
        finally:
            await sender.close()
    engine = engine_of(app)
    old = time.time() - 31 * 86400
    async with engine.begin() as conn:
        first = sa.select(sa.func.min(webhook_deliveries.c.id)).scalar_subquery()
        await conn.execute(
            webhook_deliveries.update()
            .where(webhook_deliveries.c.id == first)
            .values(finished_at=old)
        )
        await conn.execute(automation_actions.update().values(status="done", created_at=old))
    context = wiring.job_context(app.state.runtime, settings)
    assert await webhook_sender.retention_job(settings).run(context) == 3
    assert len(await select(engine, sa.select(webhook_deliveries))) == 1
    assert await select(engine, sa.select(automation_actions)) == []
