"""Building a dispatcher the way the worker does, with a test's own transports if it likes.

Importable as `dispatch_support` because pyproject's `pythonpath` puts `tests/` on sys.path.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy.ext.asyncio import AsyncEngine

from dovecote import wiring
from dovecote.files.store import open_store
from dovecote.pipeline.dispatcher import Dispatcher
from dovecote.pipeline.events import EventLog
from dovecote.pipeline.transports import registry
from dovecote.pipeline.transports.base import Transport
from dovecote.settings import Settings


def event_log() -> EventLog:
    return EventLog(wiring.SINKS)


def dispatcher(
    engine: AsyncEngine,
    settings: Settings,
    transports: Mapping[str, Transport] | None = None,
    *,
    events: EventLog | None = None,
) -> Dispatcher:
    """The wired channels and sinks; `transports` (channel → transport, "default" for the
    rest) replaces the configured ones, `events` the event log."""
    channels = {channel.name: channel for channel in wiring.CHANNELS}
    if transports is None:
        # The store a worker built from `settings` would have (`Runtime.files`).
        chosen = registry.build(wiring.CHANNELS, wiring.TRANSPORTS, settings, open_store(settings))
    else:
        chosen = {name: transports.get(name) or transports["default"] for name in channels}
    return Dispatcher(engine, settings, channels, chosen, events or event_log())


async def deliver(engine: AsyncEngine, settings: Settings) -> int:
    """One dispatcher pass, as the worker would run it (the test settings disable the worker)."""
    once = dispatcher(engine, settings)
    try:
        return await once.run_once()
    finally:
        await once.close()
