"""Transports by name: a table of name → `module:Class`, imported when first used.

The table itself is `dovecote.wiring.TRANSPORTS` (as healthchecks maps integration kinds
to transport classes); importing lazily means a sandbox-only deployment never loads
aiosmtplib, and a later SMPP transport never loads for people who do not use it. Each
channel's transport is the operator's choice (`DOVECOTE_TRANSPORTS`, and for email
`DOVECOTE_EMAIL_TRANSPORT`) or, unset, the channel's own sandbox.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Mapping, Sequence

from dovecote.files.store import FileStore
from dovecote.pipeline.channel import Channel, ChannelError
from dovecote.pipeline.transports.base import Transport, TransportClass
from dovecote.settings import Settings

SANDBOX = "sandbox"


def chosen(channel: Channel, settings: Settings) -> str:
    """The transport name for `channel`: configured, or the channel's sandbox."""
    name = settings.transport_for(channel.name)
    return channel.sandbox_transport if name == SANDBOX else name


def load(path: str) -> TransportClass:
    module, _, attribute = path.partition(":")
    loaded: TransportClass = getattr(importlib.import_module(module), attribute)
    return loaded


def check(channels: Sequence[Channel], table: Mapping[str, str], settings: Settings) -> None:
    """Refuse, at start-up, a channel whose transport the table does not know."""
    for channel in channels:
        name = chosen(channel, settings)
        if channel.sandbox_only and name != channel.sandbox_transport:
            raise ChannelError(
                f"channel {channel.name!r} is set to transport {name!r}, but {channel.name} "
                f"has no real delivery yet: only its sandbox ({channel.sandbox_transport!r}) "
                f"can run it. Remove {channel.name!r} from DOVECOTE_TRANSPORTS or set it to "
                "'sandbox'."
            )
        if name not in table:
            known = ", ".join(sorted(table))
            raise ChannelError(
                f"channel {channel.name!r} is set to transport {name!r}; known: {known}"
            )


def build(
    channels: Sequence[Channel], table: Mapping[str, str], settings: Settings, files: FileStore
) -> dict[str, Transport]:
    """One transport instance per name in use, shared by the channels that chose it;
    `files`: the process's file store (`Runtime.files`)."""
    check(channels, table, settings)
    instances: dict[str, Transport] = {}
    by_channel: dict[str, Transport] = {}
    for channel in channels:
        name = chosen(channel, settings)
        if name not in instances:
            instances[name] = load(table[name]).from_settings(settings, files)
        by_channel[channel.name] = instances[name]
    return by_channel


async def start(transports: Mapping[str, Transport], pushed: object | None = None) -> None:
    """Await each transport's optional `start()`; one that takes an argument (a carrier
    that pushes receipts and inbound messages) is given `pushed` (`pipeline.pushed`)."""
    for transport in {id(t): t for t in transports.values()}.values():
        opener = getattr(transport, "start", None)
        if opener is not None and inspect.iscoroutinefunction(opener):
            if inspect.signature(opener).parameters:
                await opener(pushed)
            else:
                await opener()
