"""Per-connector health: consecutive failed hand-overs put a connector down for a cool-down.

A connector is judged per hand-over (one batch to it), not per message: one dead port
refusing a batch of 100 is one failure. After `threshold` failures in a row it is down
for `cooldown` seconds, and routes skip it; after that it is tried again, and one good
hand-over brings it back up.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field


@dataclass
class Health:
    threshold: int = 3
    cooldown: float = 30.0
    failures: int = 0  # consecutive
    down_until: float = 0.0
    last_error: str = ""
    counts: dict[str, int] = field(default_factory=dict)  # outcome kind → messages

    def up(self, now: float | None = None) -> bool:
        return (time.monotonic() if now is None else now) >= self.down_until

    def failed(self, reason: str, now: float | None = None) -> bool:
        """Count one failed hand-over; True when this puts the connector down."""
        self.failures += 1
        self.last_error = reason
        if self.failures >= self.threshold:
            self.down_until = (time.monotonic() if now is None else now) + self.cooldown
            self.failures = 0
            return True
        return False

    def succeeded(self) -> None:
        self.failures = 0
        self.down_until = 0.0

    def count(self, kind: str, number: int = 1) -> None:
        self.counts[kind] = self.counts.get(kind, 0) + number
