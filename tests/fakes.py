"""Stand-ins for the small interfaces the runtime takes, so unit tests need no sleeps."""

from __future__ import annotations

__all__ = ["FakeClock"]


class FakeClock:
    """A ``runtime.util.clock.Clock`` that moves only when a test advances it."""

    def __init__(self, *, now_ms: int = 1_700_000_000_000) -> None:
        self._now_ms = now_ms
        self._elapsed_ms = 0

    def now_ms(self) -> int:
        return self._now_ms

    def monotonic(self) -> float:
        return self._elapsed_ms / 1000

    def advance(self, ms: int) -> None:
        """Move both clocks forward by ``ms`` milliseconds."""
        self._now_ms += ms
        self._elapsed_ms += ms
