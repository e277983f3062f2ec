"""Placeholder router; filled in by the SendGrid work."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["SendGrid"])
