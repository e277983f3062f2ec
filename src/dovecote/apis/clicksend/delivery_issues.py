"""`/v3/delivery-issues`: report a delivery problem, list the reports."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from dovecote.apis.clicksend.envelope import envelope
from dovecote.apis.clicksend.listing import ListParams, render_page
from dovecote.apis.deps import Conn, CurrentPrincipal
from dovecote.automations import issues

router = APIRouter(tags=["Delivery Issues"])


class IssueIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    message_id: str | None = Field(default=None, max_length=1000)
    type: str | None = Field(default=None, max_length=1000)
    description: str | None = Field(default=None, max_length=20_000)
    email_address: str | None = Field(default=None, max_length=1000)
    client_comments: str | None = Field(default=None, max_length=20_000)


def _created(row: Mapping[Any, Any]) -> dict[str, Any]:
    return {
        "issue_id": int(row["id"]),
        "user_id": int(row["user_id"]),
        "message_id": row["message_id"],
        "type": row["type"],
        "description": row["description"],
        "date_added": int(row["created_at"]),
        "email_address": row["email_address"],
    }


def _listed(row: Mapping[Any, Any]) -> dict[str, Any]:
    return {
        # SDK 6's list model types issue_id as a string (its create model, as an integer).
        "issue_id": str(row["id"]),
        "user_id": int(row["user_id"]),
        "message_id": row["message_id"],
        "type": row["type"],
        "description": row["description"],
        "client_comments": row["client_comments"],
        "support_comments": row["support_comments"],
        "status": row["status"],
        "date_added": int(row["created_at"]),
        "resolved": int(bool(row["resolved"])),
        "email_address": row["email_address"],
    }


@router.get("/delivery-issues", summary="Get delivery issues")
async def list_issues(
    request: Request, params: ListParams, principal: CurrentPrincipal, conn: Conn
) -> JSONResponse:
    page = await issues.list_issues(conn, principal, params)
    return envelope(render_page(page, request, _listed), "Here are your delivery issues.")


@router.post("/delivery-issues", summary="Create a delivery issue")
async def create_issue(
    principal: CurrentPrincipal, conn: Conn, body: IssueIn | None = None
) -> JSONResponse:
    fields = body or IssueIn()
    row = await issues.create_issue(
        conn,
        principal,
        issues.IssueFields(
            message_id=fields.message_id,
            type=fields.type,
            description=fields.description,
            email_address=fields.email_address,
            client_comments=fields.client_comments,
        ),
    )
    return envelope(_created(row), "Delivery issue has been created.")
