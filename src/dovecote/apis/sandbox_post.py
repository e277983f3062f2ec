"""`/sandbox/post/{message_id}/proof/{n}.png` and `/sandbox/postcards/{message_id}/proof/
{n}.png`: the sandbox's proof of a letter's page or a postcard's side (1 the front, 2 the
addressed back), for its owner (the account's users who may see it in history)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import Response

from dovecote.apis.deps import Conn, CurrentPrincipal, RuntimeDep
from dovecote.channels.post import history

router = APIRouter(prefix="/sandbox", tags=["Sandbox"])


@router.get(
    "/post/{message_id}/proof/{number}.png",
    summary="A page of a letter's proof (sandbox)",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}}},
)
async def letter_proof(
    message_id: Annotated[str, Path(max_length=64)],
    number: Annotated[int, Path(ge=1, le=1000)],
    principal: CurrentPrincipal,
    conn: Conn,
    runtime: RuntimeDep,
) -> Response:
    png = await history.proof_page(conn, "post", principal, message_id, number, runtime.files)
    return Response(png, media_type="image/png")


@router.get(
    "/postcards/{message_id}/proof/{number}.png",
    summary="A side of a postcard's proof (sandbox): 1 the front, 2 the back",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}}},
)
async def postcard_proof(
    message_id: Annotated[str, Path(max_length=64)],
    number: Annotated[int, Path(ge=1, le=2)],
    principal: CurrentPrincipal,
    conn: Conn,
    runtime: RuntimeDep,
) -> Response:
    png = await history.proof_page(conn, "postcards", principal, message_id, number, runtime.files)
    return Response(png, media_type="image/png")
