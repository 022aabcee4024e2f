"""The server's clock: real UTC time plus an offset that only test mode moves.

Domain code takes ``now`` from here (or as a parameter) and never calls ``datetime.now``
itself, so the test clock (API.md's ``/v1/test/clock/advance``) moves everything at once.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone


class Clock:
    def __init__(self) -> None:
        self._offset = timedelta(0)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        """The current time, timezone-aware UTC, with microseconds."""
        return datetime.now(timezone.utc) + self._offset

    def advance(self, seconds: float) -> datetime:
        """Moves the clock forward (test mode only; the caller checks the mode)."""
        assert seconds >= 0, "the clock never goes back"
        with self._lock:
            self._offset += timedelta(seconds=seconds)
        return self.now()


clock = Clock()


def utc(value: datetime) -> datetime:
    """The same instant as an aware UTC datetime (naive values are taken as UTC)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)
