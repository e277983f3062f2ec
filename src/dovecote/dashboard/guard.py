"""Who may see a page, as a FastAPI dependency: `who: SignedIn` (anyone signed in) or
`who: Annotated[web.Viewer, Depends(viewer_with(FLAG))]` (a user holding `FLAG`, the
permission the API checks) in a handler's signature.

A dependency cannot answer a request, and an `HTTPException` would reach the app's JSON
error handler, not render the sign-in redirect or the 403 page `web.viewer` answers.
So the dependency raises `Refusal` carrying that response, and `PageRoute` (the
`route_class` of every dashboard router) sends it. Dependencies are solved before path
and query parameters are checked, so a visitor who is refused gets the refusal, even
where the parameters were also wrong (422 is for those allowed in).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import Response
from fastapi.routing import APIRoute

from dovecote.dashboard import web


class Refusal(Exception):
    """The response that replaces the page (sign-in redirect, 403 page)."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


class PageRoute(APIRoute):
    """A route that answers a `Refusal` raised while solving its dependencies."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def answer(request: Request) -> Response:
            try:
                return await handle(request)
            except Refusal as refusal:
                return refusal.response

        return answer


def viewer_with(flag: str | None) -> Callable[[Request], Coroutine[Any, Any, web.Viewer]]:
    """A dependency: the signed-in viewer holding `flag` (any viewer for None)."""

    async def signed_in(request: Request) -> web.Viewer:
        who = await web.viewer(request, flag)
        if not isinstance(who, web.Viewer):
            raise Refusal(who)
        return who

    return signed_in


SignedIn = Annotated[web.Viewer, Depends(viewer_with(None))]
