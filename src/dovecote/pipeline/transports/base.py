"""The one transport contract every channel plugin implements.

A transport gets a batch of jobs and reports one `Outcome` per job; it never touches
the database. The dispatcher turns outcomes into row updates, events and retries.

    start()       optional: open long-lived connections before the first batch
    send(jobs)    hand messages over (SMTP relay, SMPP carrier, HTTP provider, sandbox)
    settle(jobs)  resolve messages left `sent` with a follow-up time — how the sandbox
                  produces its delayed receipts; carriers that push receipts need not
                  use it

Outcome kinds: `sent` (accepted, receipt pending), `delivered`, `failed` (permanent),
`expired`, `deferred` (temporary: retried with backoff until the attempt limit).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from dovecote.files.store import FileStore
from dovecote.settings import Settings

OutcomeKind = Literal["sent", "delivered", "failed", "expired", "deferred"]


@dataclass(frozen=True, slots=True)
class Job:
    id: str
    account_id: int
    user_id: int
    channel: str
    sender: str
    recipient: str
    subject: str | None
    body: str
    attempts: int
    custom_string: str | None
    created_at: int
    sent_at: int | None
    transport_ref: str | None
    payload: dict[str, Any] | None = field(default=None, repr=False)  # channel-specific data
    content: bytes | None = field(default=None, repr=False)  # exact bytes to send (MIME)


@dataclass(frozen=True, slots=True)
class Reply:
    """An inbound message the transport saw (a carrier MO, or a sandbox auto-reply)."""

    sender: str
    recipient: str
    body: str


@dataclass(frozen=True, slots=True)
class Outcome:
    kind: OutcomeKind
    error_code: int | None = None
    error_text: str | None = None
    transport_ref: str | None = None
    follow_up_in: float | None = None  # `sent`: call settle() after this many seconds
    replies: tuple[Reply, ...] = ()
    detail: dict[str, Any] = field(default_factory=dict)  # e.g. SMTP reply, relay host


class Transport(Protocol):
    name: str

    async def send(self, jobs: Sequence[Job]) -> Sequence[Outcome]: ...

    async def settle(self, jobs: Sequence[Job]) -> Sequence[Outcome]: ...

    async def close(self) -> None: ...


class TransportClass(Protocol):
    """What the transport table names: a class built from the settings and the process's
    file store (`Runtime.files`, where the voice, fax and post sandboxes keep what they
    render; the others ignore it). A transport with long-lived connections (an SMPP bind)
    opens them in an optional `async start()`, which the worker awaits before the first
    batch, and closes them in `close()`."""

    def from_settings(self, settings: Settings, files: FileStore) -> Transport: ...
