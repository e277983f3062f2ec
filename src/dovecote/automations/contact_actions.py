"""Inbound SMS rule actions on the address book, as ClickSend defines them; the list is
the rule's `action_address` (a list id of the account):

    CREATE_CONTACT                  the sender's number added to the list
    CREATE_CONTACT_PLUS_NAME        ... named by the message ("Ann Lee")
    CREATE_CONTACT_PLUS_EMAIL       ... with the email the message gives
    CREATE_CONTACT_PLUS_NAME_EMAIL  ... both ("Ann Lee ann@example.com")
    MOVE_CONTACT                    the sender's contacts moved to the list
    CONTACT_OPT_OUT                 the sender's number on the account's opt-out list
    GROUP_SMS                       the message sent on to every other contact of the list

They run as the rule's user, with its permissions (`access_contacts`): a refusal fails
the action with the reason, like an SMS action without credit. A sender already in the
list is not added twice.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Final

from sqlalchemy.ext.asyncio import AsyncConnection

from dovecote.automations import kinds as k
from dovecote.channels.sms.compose import SmsRequest
from dovecote.contacts import audience, optouts, service
from dovecote.contacts import store as contact_store
from dovecote.core.errors import DomainError
from dovecote.core.models import Principal

CREATE: Final = "CREATE_CONTACT"
CREATE_NAME: Final = "CREATE_CONTACT_PLUS_NAME"
CREATE_EMAIL: Final = "CREATE_CONTACT_PLUS_EMAIL"
CREATE_NAME_EMAIL: Final = "CREATE_CONTACT_PLUS_NAME_EMAIL"
MOVE: Final = "MOVE_CONTACT"
OPT_OUT: Final = "CONTACT_OPT_OUT"
GROUP_SMS: Final = "GROUP_SMS"
CREATES: Final = frozenset({CREATE, CREATE_NAME, CREATE_EMAIL, CREATE_NAME_EMAIL})
ACTIONS: Final = k.CONTACT_ACTIONS
assert CREATES | {MOVE, OPT_OUT, GROUP_SMS} == ACTIONS
GROUP_LIMIT: Final = 1000  # as one send request: a bigger list is a campaign's work


def list_id_of(address: str) -> int:
    try:
        list_id = int(address)
    except ValueError:
        list_id = 0
    if list_id <= 0:
        raise DomainError(f"action_address {address!r} is not a list id.", code="INVALID_LIST")
    return list_id


def details(action: str, body: str, keyword: str | None = None) -> dict[str, str]:
    """The name and email an inbound message gives, as the action asks for them; after
    the rule's keyword when it matched one ("JOIN Ann Lee ann@example.com")."""
    text = body.strip()
    if keyword and text.lower().startswith(keyword.strip().lower()):
        text = text[len(keyword.strip()) :]
    words = text.split()
    email = next((w for w in words if "@" in w), None) if "EMAIL" in action else None
    found: dict[str, str] = {}
    if email is not None:
        found["email"] = email.strip(".,;")
    if "NAME" in action:
        names = [w for w in words if w != email]
        if names:
            found["first_name"] = names[0]
        if len(names) > 1:
            found["last_name"] = " ".join(names[1:])
    return found


Send = Callable[[list[SmsRequest]], Awaitable[str]]


async def perform(
    conn: AsyncConnection,
    principal: Principal,
    action: str,
    address: str,
    event: Mapping[str, object],
    send: Send,
    *,
    keyword: str | None = None,
) -> str:
    """Do `action` for the inbound `event`; returns what happened. `send` accepts SMS as
    the rule's other SMS actions do (charged, throttled, opt-outs skipped)."""
    sender, body = str(event.get("from") or ""), str(event.get("body") or "")
    if action == OPT_OUT:
        await optouts.opt_out(conn, principal.account.id, principal.user.id, sender)
        return f"{sender} opted out"
    list_id = list_id_of(address)
    if action in CREATES:
        target = await service.get_list(conn, principal, list_id)
        if await contact_store.numbers_in_list(conn, principal.account.id, target.id, [sender]):
            return f"{sender} is already in list {target.id}"
        values = {"phone_number": sender, **details(action, body, keyword)}
        contact = await service.create_contact(conn, principal, target.id, values)
        return f"contact {contact.id} created in list {target.id}"
    if action == MOVE:
        await service.get_list(conn, principal, list_id)
        found = await contact_store.contacts_with_number(conn, principal.account.id, sender)
        if not found:
            return f"no contact has the number {sender}"
        moved = [
            (await service.transfer_contact(conn, principal, from_list, contact_id, list_id)).id
            for contact_id, from_list in found
            if from_list != list_id
        ]
        return f"contacts {moved} moved to list {list_id}" if moved else "already in the list"
    members = await audience.phone_recipients(conn, principal, list_id, limit=GROUP_LIMIT)
    if members is None:
        raise DomainError(f"List #{list_id} not found.", code="NOT_FOUND")
    requests = [
        SmsRequest(to=phone, body=body, contact_id=member.id)
        for member in members
        if (phone := member.fields["phone_number"]) and phone != sender
    ]
    if not requests:
        return f"list {list_id} has no other contact with a phone number"
    return await send(requests)
