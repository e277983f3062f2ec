"""`/healthz`: liveness for load balancers and orchestrators, no credentials needed."""

from __future__ import annotations

import httpx

from dovecote.settings import Settings


async def test_health_answers_without_credentials_and_names_the_database(
    anon: httpx.AsyncClient, settings: Settings
) -> None:
    response = await anon.get("/healthz")

    assert response.status_code == 200
    expected = "sqlite" if settings.is_sqlite else "postgresql"
    assert response.json() == {"status": "ok", "database": expected}
