"""Dovecote objects → ClickSend wire shapes (field names dictated by the spec and SDKs)."""

from __future__ import annotations

from typing import Any

from dovecote.core.models import Account, User
from dovecote.core.money import from_micros
from dovecote.pipeline.pricing import PriceBook


def money(micros: int) -> str:
    return f"{from_micros(micros):.6f}"


def subaccount(user: User, api_key: str | None = None) -> dict[str, Any]:
    return {
        "subaccount_id": user.id,
        "api_username": user.username,
        "email": user.email,
        "phone_number": user.phone_number,
        "first_name": user.first_name,
        "last_name": user.last_name,
        # Keys are stored hashed: the full key appears only when created or regenerated.
        "api_key": api_key,
        **{flag: int(value) for flag, value in user.access.items()},
        "hide_pricing": int(user.hide_pricing),
        "share_campaigns": int(user.share_campaigns),
        "notes": user.notes,
        "is_main": int(user.is_main),
        "sign_up_type": None,  # SDK 6.0.2's Subaccount: "if applicable"; it never is here
    }


def account(account: Account, user: User, prices: PriceBook) -> dict[str, Any]:
    settings = account.settings
    return {
        "user_id": user.id,
        "username": user.username,
        "user_email": user.email,
        "active": int(account.active),
        "banned": int(account.banned),
        "date_sign_up": account.created_at,
        "balance": money(account.balance_micros),
        "user_phone": user.phone_number,
        "reply_to": settings.get("reply_to", "originalemail"),
        "delivery_to": settings.get("delivery_to"),
        "user_first_name": user.first_name,
        "user_last_name": user.last_name,
        "account": account.id,
        "account_name": account.name,
        "account_billing_email": account.billing_email,
        "account_billing_mobile": account.billing_mobile,
        "country": account.country,
        "default_country_sms": account.country,
        "auto_recharge": 0,
        "auto_recharge_amount": "0.00",
        "low_credit_amount": "0.00",
        "setting_unicode_sms": int(account.unicode_sms),
        "setting_email_sms_subject": int(settings.get("setting_email_sms_subject", 0)),
        "setting_fix_sender_id": int(settings.get("setting_fix_sender_id", 0)),
        "setting_sms_message_char_limit": account.sms_max_parts,
        "old_dashboard": 0,
        "balance_commission": "0.000000",
        "timezone": account.timezone,
        "private_uploads": int(settings.get("private_uploads", 0)),
        # Fields of SDK 6.0.2's Account (fax_quality also in the spec's example) that have
        # one value here: no fax, one price list, no trials.
        "fax_quality": 0,
        "price_rate": 0,
        "pricing_variant": 0,
        "on_trial": 0,
        "trial_expiry": None,
        "setting_sms_hide_your_number": int(settings.get("setting_sms_hide_your_number", 0)),
        "setting_sms_hide_business_name": int(settings.get("setting_sms_hide_business_name", 0)),
        "_currency": prices.currency_info(account.currency),
        "_subaccount": subaccount(user),
    }
