"""The transport table at start-up: channels without real delivery keep their sandbox."""

from __future__ import annotations

from pathlib import Path

import pytest

from dovecote import wiring
from dovecote.files.store import LocalFileStore
from dovecote.pipeline.channel import ChannelError
from dovecote.pipeline.transports import registry
from dovecote.settings import Settings


def _settings(transports: dict[str, str]) -> Settings:
    return Settings(database_url="sqlite+aiosqlite:///:memory:", transports=transports)


@pytest.mark.parametrize("channel", ["voice", "fax"])
def test_voice_and_fax_refuse_a_real_transport_until_one_exists(channel: str) -> None:
    with pytest.raises(ChannelError, match=f"'{channel}'.*no real delivery yet"):
        registry.check(wiring.CHANNELS, wiring.TRANSPORTS, _settings({channel: "smtp"}))


def test_voice_and_fax_go_to_their_own_sandboxes(tmp_path: Path) -> None:
    built = registry.build(
        wiring.CHANNELS,
        wiring.TRANSPORTS,
        _settings({"voice": "sandbox", "fax": "fax-sandbox"}),
        LocalFileStore(tmp_path),
    )

    assert (built["voice"].name, built["fax"].name, built["sms"].name) == (
        "voice-sandbox",
        "fax-sandbox",
        "sandbox",
    )
