"""`/healthz`: the process is up and its database answers."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi import APIRouter
from fastapi.responses import JSONResponse

from dovecote.apis.deps import Conn

router = APIRouter(tags=["Health"])


@router.get("/healthz", summary="Liveness and database check")
async def healthz(conn: Conn) -> JSONResponse:
    await conn.execute(sa.text("SELECT 1"))
    return JSONResponse({"status": "ok", "database": conn.dialect.name})
