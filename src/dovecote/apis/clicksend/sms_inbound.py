"""Placeholder router; filled in by the SMS read-side work."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["SMS"])
