"""Sandbox controls outside `/v3` (Dovecote-specific): simulate what carriers would do."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/sandbox", tags=["Sandbox"])
