"""Which rules an inbound message or a receipt fires.

Every enabled rule that matches fires, in rule order (oldest first): the spec describes
no "stop after the first match", and ClickSend's own examples pair rules on one number
(an auto-reply beside a URL). Matching ignores case, as keywords are typed by people.
"""

from __future__ import annotations

import re

from dovecote.automations import kinds as k
from dovecote.automations.rules import ALL_NUMBERS, Rule

_NOT_ALNUM = re.compile(r"[^0-9a-z]")


def _number(value: str) -> str:
    return _NOT_ALNUM.sub("", value.lower())


def number_matches(rule: Rule, recipient: str) -> bool:
    wanted = (rule.dedicated_number or "").strip()
    return wanted in ("", ALL_NUMBERS) or _number(wanted) == _number(recipient)


def body_matches(rule: Rule, body: str) -> bool:
    search = rule.message_search_type or k.ANY_MESSAGE
    if search == k.ANY_MESSAGE:
        return True
    term = (rule.message_search_term or "").strip().casefold()
    text = body.strip().casefold()
    if search == k.STARTS_WITH:
        return text.startswith(term)
    if search == k.CONTAINS:
        return term in text
    return term not in text  # NOT_CONTAINS


def inbound_matches(rule: Rule, recipient: str, body: str) -> bool:
    if not number_matches(rule, recipient):
        return False
    return not k.KINDS[rule.kind].searchable or body_matches(rule, body)


def receipt_matches(rule: Rule, success: bool) -> bool:
    if rule.match_type == k.ONLY_FAILED:
        return not success
    if rule.match_type == k.ONLY_SUCCESSFUL:
        return success
    return True  # 0 all reports, and the spec's undefined 3
