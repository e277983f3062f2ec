"""The six kinds of ClickSend automation rule and the actions each may take.

Inbound rules (SMS, fax) answer a message received on one of the account's numbers;
receipt rules (SMS, email, voice, fax) answer a delivery receipt of a message it sent.
Rules of every kind fire from the event log (`automations.sink`), so a kind whose channel
is not built yet (voice, fax) is stored and listed normally and starts firing when its
channel writes events.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

URL: Final = "URL"
EMAIL_USER: Final = "EMAIL_USER"
EMAIL_FIXED: Final = "EMAIL_FIXED"
AUTO_REPLY: Final = "AUTO_REPLY"
SMS: Final = "SMS"
NOTHING: Final = "NOTHING"
NONE: Final = "NONE"  # the SDK's spelling of NOTHING

# Inbound SMS actions on the address book (`automations.contact_actions`); for these the
# `action_address` is a list id, but for CONTACT_OPT_OUT (the account's opt-out list).
CONTACT_ACTIONS: Final = frozenset(
    {
        "GROUP_SMS",
        "MOVE_CONTACT",
        "CREATE_CONTACT",
        "CREATE_CONTACT_PLUS_EMAIL",
        "CREATE_CONTACT_PLUS_NAME",
        "CREATE_CONTACT_PLUS_NAME_EMAIL",
        "CONTACT_OPT_OUT",
    }
)
# ClickSend's POLL tallies replies into a poll Dovecote does not have yet. Refused with a
# 400 naming the action: a rule that silently does nothing is worse.
NOT_YET: Final = frozenset({"POLL"})
# ClickSend's SMPP action forwards to an SMPP client connection: Dovecote has no SMPP server.
UNSUPPORTED: Final = frozenset({"SMPP"})

INBOUND_ACTIONS: Final = frozenset({URL, EMAIL_USER, EMAIL_FIXED, AUTO_REPLY, SMS, NOTHING, NONE})
RECEIPT_ACTIONS: Final = frozenset({URL, EMAIL_USER, EMAIL_FIXED, SMS, NOTHING, NONE})

# `message_search_type`, as ClickSend numbers it.
ANY_MESSAGE, STARTS_WITH, CONTAINS, NOT_CONTAINS = 0, 1, 2, 3
# `match_type` of receipt rules: 0 all, 1 only failed, 2 only successful. The spec's own
# examples also send 3, which it never defines: accepted and treated as 0.
ALL_REPORTS, ONLY_FAILED, ONLY_SUCCESSFUL, UNDEFINED_MATCH = 0, 1, 2, 3

# `webhook_type` of URL rules: ClickSend's form POST (the default) or a JSON POST.
WEBHOOK_FORM: Final = "post"
WEBHOOK_JSON: Final = "json"


@dataclass(frozen=True, slots=True)
class Kind:
    name: str  # `automation_rules.kind`
    channel: str  # the channel whose events fire it
    inbound: bool
    searchable: bool  # inbound rules that match on the body (SMS; fax has no text)
    id_field: str  # the rule id's wire name

    @property
    def actions(self) -> frozenset[str]:
        if not self.inbound:
            return RECEIPT_ACTIONS
        return INBOUND_ACTIONS | CONTACT_ACTIONS if self.channel == "sms" else INBOUND_ACTIONS


SMS_INBOUND = Kind("sms_inbound", "sms", True, True, "inbound_rule_id")
SMS_RECEIPT = Kind("sms_receipt", "sms", False, False, "receipt_rule_id")
EMAIL_RECEIPT = Kind("email_receipt", "email", False, False, "receipt_rule_id")
VOICE_RECEIPT = Kind("voice_receipt", "voice", False, False, "receipt_rule_id")
FAX_INBOUND = Kind("fax_inbound", "fax", True, False, "inbound_rule_id")
FAX_RECEIPT = Kind("fax_receipt", "fax", False, False, "receipt_rule_id")

KINDS: Final = {
    kind.name: kind
    for kind in (SMS_INBOUND, SMS_RECEIPT, EMAIL_RECEIPT, VOICE_RECEIPT, FAX_INBOUND, FAX_RECEIPT)
}


def receipt_kind(channel: str) -> Kind | None:
    return next((k for k in KINDS.values() if k.channel == channel and not k.inbound), None)


def inbound_kind(channel: str) -> Kind | None:
    return next((k for k in KINDS.values() if k.channel == channel and k.inbound), None)
