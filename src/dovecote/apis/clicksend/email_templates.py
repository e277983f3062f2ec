"""Placeholder router; filled in by the email work."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["Email"])
