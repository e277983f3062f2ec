"""Dovecote's own concepts, independent of any API's wire format."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Account:
    id: int
    name: str
    billing_email: str
    billing_mobile: str
    balance_micros: int
    currency: str
    country: str
    timezone: str
    active: bool
    banned: bool
    sms_max_parts: int
    unicode_sms: bool
    settings: dict[str, Any]
    created_at: int


@dataclass(frozen=True, slots=True)
class User:
    """A login of an account: ClickSend's "subaccount" (the main user has is_main)."""

    id: int
    account_id: int
    username: str
    password_hash: str
    email: str
    phone_number: str
    first_name: str
    last_name: str
    is_main: bool
    access: dict[str, bool]
    hide_pricing: bool
    share_campaigns: bool
    notes: str | None
    created_at: int


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the user, their account, and the API key used (if any)."""

    user: User
    account: Account
    api_key_id: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def can(self, flag: str) -> bool:
        return self.user.is_main or self.user.access.get(flag, False)
