"""`/sandbox/post/{message_id}/proof/{n}.png`: the sandbox's proof of a letter's page,
for its owner (the account's users who may see the letter in history)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import Response

from dovecote.apis.deps import Conn, CurrentPrincipal, RuntimeDep
from dovecote.channels.post import history, proof
from dovecote.core.errors import NotFound
from dovecote.files.store import FileMissing

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
    row = await history.get_item(conn, "post", principal, message_id)
    if number > int(row["pages"]):
        raise NotFound(f"Letter {message_id} has {row['pages']} pages.")
    key = (
        proof.first_page_key(row["id"]) if number == 1 else proof.page_key(row["file_key"], number)
    )
    try:
        data = await runtime.files.get(key)
    except FileMissing:
        raise NotFound(f"No proof of page {number} of letter {message_id}.") from None
    return Response(data, media_type="image/png")
