"""A page's guard is a dependency (`dashboard.guard`): a visitor it refuses gets the
sign-in redirect or the 403 page, never a 500, on every dashboard route."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from fastapi.routing import APIRoute

from dashboard_support import signed_in_client
from dovecote.dashboard import guard, routes


def test_every_dashboard_route_answers_a_refusal() -> None:
    # A route of another class would let `Refusal` escape as a 500.
    found = [route for module in routes.PAGES for route in module.router.routes]
    assert found and all(isinstance(route, APIRoute) for route in found)
    assert [r.path for r in found if not isinstance(r, guard.PageRoute)] == []


async def test_a_signed_out_visitor_is_sent_to_sign_in(app: FastAPI) -> None:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        for path, back in (
            ("/settings/webhooks", "%2Fsettings%2Fwebhooks"),
            ("/inbox/ABC/attachments/1?x=1", "%2Finbox%2FABC%2Fattachments%2F1%3Fx%3D1"),
            ("/messages/ABC/voice.wav", "%2Fmessages%2FABC%2Fvoice.wav"),
        ):
            response = await client.get(path)
            assert response.status_code == 303, path
            assert response.headers["location"] == f"/login?next={back}", path


async def test_a_signed_in_owner_passes_the_guard(app: FastAPI) -> None:
    client = await signed_in_client(app)
    try:
        response = await client.get("/settings/webhooks")
    finally:
        await client.aclose()
    assert response.status_code == 200
    assert "Webhooks and automations" in response.text
