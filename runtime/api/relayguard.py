"""What the daemon's listeners may cost it, and how their refusals are told.

Every relayed connection holds three of the daemon's descriptors (the caller's socket, the
upstream end, and gRPC's end of it) for as long as its caller keeps it open, and a caller needs
no token to open one. So the listeners cap how many connections one caller (its uid on this
host, its address from elsewhere) and all callers together hold open, close a connection that
sends nothing within a head timeout, and keep a reserve of free descriptors for what the daemon
does for the callers it has admitted (starting sandboxes, their egress proxies, the audit log).
The reserve is twice the egress proxies': a flood of callers is refused before any proxy is.

Refusals cost a line in the log only once per interval, counted by reason, so that a flood cannot
flood the log as well.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass

import structlog

from runtime.sandbox.egress.guard import CAPS as EGRESS_CAPS

__all__ = ["CALLER_UNKNOWN", "CAPS", "SHORT_OF_DESCRIPTORS", "Refusals", "RelayCaps"]

log = structlog.get_logger("skillrt.relay")

SHORT_OF_DESCRIPTORS = "the daemon is short of file descriptors"
CALLER_UNKNOWN = "the kernel cannot name the caller"
# Refusals are logged at most once per this many seconds, as one line of counts.
_LOG_INTERVAL_SECONDS = 5.0


@dataclass(frozen=True, kw_only=True)
class RelayCaps:
    per_caller: int  # connections one caller holds open at once
    total: int  # connections all callers hold open at once
    # TCP connections accepted but not yet named (in their TLS handshake, or being looked up in
    # the kernel's socket tables): uncapped, a flood holds descriptors there before any
    # per-caller cap applies. In all, and from one remote address.
    unidentified: int
    unidentified_per_address: int
    head_timeout_seconds: float  # from accepting a connection to its first byte
    descriptor_reserve: int  # free descriptors below which a new connection is closed at once


# A client opens one connection per channel; a few dozen channels per user is generous.
CAPS = RelayCaps(
    per_caller=64,
    total=1024,
    unidentified=64,
    unidentified_per_address=16,
    head_timeout_seconds=10,
    descriptor_reserve=2 * EGRESS_CAPS.descriptor_reserve,
)


class Refusals:
    """Refused connections, counted by reason and logged as one line per interval."""

    def __init__(self) -> None:
        self._counts: Counter[str] = Counter()
        self._flush: asyncio.TimerHandle | None = None

    def note(self, reason: str) -> None:
        self._counts[reason] += 1
        if self._flush is None:
            self._flush = asyncio.get_running_loop().call_later(_LOG_INTERVAL_SECONDS, self.flush)

    def flush(self) -> None:
        if self._flush is not None:
            self._flush.cancel()
            self._flush = None
        if self._counts:
            log.warning("relay.refused", count=self._counts.total(), reasons=dict(self._counts))
            self._counts.clear()
