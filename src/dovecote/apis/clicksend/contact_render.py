"""Contact lists and contacts in ClickSend's wire shapes (SDK 6.0.2's ContactList, Contact)."""

from __future__ import annotations

from typing import Any

from dovecote.contacts.service import Contact, ContactList


def contact_list(item: ContactList) -> dict[str, Any]:
    return {
        "list_id": item.id,
        "list_name": item.name,
        "list_email_id": item.email_id,
        "_contacts_count": item.contacts_count,
        "_import_in_progress": int(item.importing),
        "_optout_in_progress": 0,  # opt-out removal is immediate here
    }


def contact(item: Contact) -> dict[str, Any]:
    return {
        "contact_id": item.id,
        "list_id": item.list_id,
        **item.fields,
        # SDK 6.0.2 types both as integers (the spec's examples show strings).
        "date_added": item.created_at,
        "date_updated": item.updated_at,
        "_list_name": item.list_name,
    }
