"""Placeholder router; filled in by the EmailVerify work."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["EmailVerify"])
