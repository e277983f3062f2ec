"""The route index (`apis/route_index.py`): a remembered path reaches the route FastAPI's
scan would have chosen, and nothing but fixed paths is remembered."""

from __future__ import annotations

import httpx
from fastapi import APIRouter, FastAPI, Request

from dovecote.apis import route_index
from dovecote.apis.route_index import RouteIndex


def build() -> FastAPI:
    app = FastAPI()
    first = APIRouter()
    second = APIRouter()

    # Registered first, so the scan gives it `/items/special` too.
    @first.get("/items/{item_id}", name="item")
    async def item(item_id: str) -> dict[str, str]:
        return {"route": "item", "id": item_id}

    @first.get("/plain", name="plain")
    async def plain(request: Request) -> dict[str, str]:
        # url_for reads every route of the app's router, also on a remembered path.
        return {"route": "plain", "link": str(request.url_for("item", item_id="7"))}

    @second.get("/items/special")
    async def special() -> dict[str, str]:
        return {"route": "special"}

    @second.post("/plain")
    async def plain_post() -> dict[str, str]:
        return {"route": "plain-post"}

    app.include_router(first, prefix="/v3")
    app.include_router(second, prefix="/v3")
    route_index.install(app.router)
    return app


def index_of(app: FastAPI) -> RouteIndex:
    index = app.router.middleware_stack
    assert isinstance(index, RouteIndex)
    return index


async def get(app: FastAPI, method: str, path: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        return await client.request(method, path)


async def test_a_fixed_path_is_remembered_and_answered_the_same() -> None:
    app = build()
    answers = [(await get(app, "GET", "/v3/plain")).json() for _ in range(3)]

    assert answers == [{"route": "plain", "link": "http://t/v3/items/7"}] * 3
    assert len(index_of(app)) == 1
    assert (await get(app, "POST", "/v3/plain")).json() == {"route": "plain-post"}
    assert (await get(app, "POST", "/v3/plain")).json() == {"route": "plain-post"}
    assert len(index_of(app)) == 2


async def test_a_path_the_scan_gives_a_parameterised_route_keeps_going_there() -> None:
    app = build()
    for _ in range(3):
        response = await get(app, "GET", "/v3/items/special")
        assert response.json() == {"route": "item", "id": "special"}
    assert len(index_of(app)) == 0


async def test_parameters_404s_and_405s_are_never_remembered() -> None:
    app = build()
    for n in range(50):
        assert (await get(app, "GET", f"/v3/items/{n}")).json()["id"] == str(n)
        assert (await get(app, "GET", f"/v3/missing/{n}")).status_code == 404
    for _ in range(2):
        assert (await get(app, "DELETE", "/v3/plain")).status_code == 405
        assert (await get(app, "GET", "/v3/plain/")).status_code in (307, 404)

    assert len(index_of(app)) == 0


async def test_a_route_added_in_front_later_takes_over_a_remembered_path() -> None:
    app = build()
    assert (await get(app, "POST", "/v3/plain")).json() == {"route": "plain-post"}
    assert len(index_of(app)) == 1

    late = APIRouter()

    @late.post("/v3/plain")
    async def late_plain() -> dict[str, str]:
        return {"route": "late"}

    app.include_router(late)
    app.router.routes.insert(0, app.router.routes.pop())

    assert (await get(app, "POST", "/v3/plain")).json() == {"route": "late"}
    assert (await get(app, "POST", "/v3/plain")).json() == {"route": "late"}
