"""What running invocations have used and printed so far, for whoever looks while they run.

Each run the runner starts has a ``LiveRun`` until it ends: the sandbox, once started, to read
CPU and memory from, and the output so far. The output is kept once per run, each stream up to
the run's output limit, however many watch it. A watcher holds only how far it has read: a slow
one never holds up the run (publishing never waits).

What a watcher has been sent, though, waits in gRPC's buffers until its client reads it (a
server stream's writes do not wait for the client), so each watcher that does not read costs
about its invocation's output: the watchers open at once are capped, per principal and in all.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Protocol

from runtime.core.invocation import OutputChunk
from runtime.errors import OverLimit
from runtime.util.clock import SYSTEM_CLOCK, Clock

__all__ = ["STREAMS", "WATCH_CAPS", "LiveRun", "LiveRuns", "LiveUsage", "Meter", "WatchCaps"]

STREAMS = ("stdout", "stderr")
_PIECE = 65536  # the most one chunk carries to a watcher


@dataclass(frozen=True, kw_only=True)
class WatchCaps:
    """Watchers open at once: the runtime's own caps, which protect the daemon's memory."""

    per_principal: int
    total: int


# A person follows an invocation or two; with 1 MiB outputs, 32 idle watchers hold ~100 MiB.
WATCH_CAPS = WatchCaps(per_principal=4, total=32)


@dataclass(frozen=True, kw_only=True)
class LiveUsage:
    """A running sandbox's use so far."""

    wall_ms: int
    cpu_ms: int
    memory_bytes: int  # held now
    peak_memory_bytes: int


class Meter(Protocol):
    """What a started sandbox tells of its use while it runs."""

    def cpu_ns_so_far(self) -> int: ...

    def memory_bytes(self) -> int: ...

    def peak_memory_so_far(self) -> int: ...


class LiveRun:
    """One run: its sandbox's meter once it has started, and its output so far."""

    def __init__(self, output_limit: int, clock: Clock = SYSTEM_CLOCK) -> None:
        self._limit = output_limit
        self._clock = clock
        self._kept = {stream: bytearray() for stream in STREAMS}
        self._meter: Meter | None = None
        self._started = 0.0
        # The most seen: once its cgroup is gone (before the run is recorded) reads give 0.
        self._cpu_ns = self._peak = 0
        self._grown = asyncio.Event()
        self.ended = False

    def attach(self, meter: Meter) -> None:
        """Its sandbox has started."""
        self._meter = meter
        self._started = self._clock.monotonic()

    def usage(self) -> LiveUsage | None:
        """Its use so far; None before its sandbox has started."""
        if self._meter is None:
            return None
        memory = self._meter.memory_bytes()
        self._cpu_ns = max(self._cpu_ns, self._meter.cpu_ns_so_far())
        self._peak = max(self._peak, self._meter.peak_memory_so_far(), memory)
        return LiveUsage(
            wall_ms=int((self._clock.monotonic() - self._started) * 1000),
            cpu_ms=self._cpu_ns // 1_000_000,
            memory_bytes=memory,
            peak_memory_bytes=self._peak,
        )

    def publish(self, stream: str, data: bytes) -> None:
        """More (masked) output; past the output limit it is dropped, as the result drops it."""
        kept = self._kept[stream]
        room = self._limit - len(kept)
        if room > 0 and data:
            kept += data[:room]
            self._wake()

    def end(self) -> None:
        self.ended = True
        self._wake()

    async def output(self, sent: dict[str, int], *, follow: bool) -> AsyncIterator[OutputChunk]:
        """The output past ``sent`` (bytes already sent, per stream, updated as it goes); with
        ``follow``, more as it comes until the run ends."""
        while True:
            grown = self._grown  # before reading: whatever comes after wakes this one
            for stream, kept in self._kept.items():
                while sent[stream] < len(kept):
                    piece = bytes(kept[sent[stream] : sent[stream] + _PIECE])
                    sent[stream] += len(piece)
                    yield OutputChunk(stream, piece)
            if self.ended or not follow:
                return
            await grown.wait()

    def _wake(self) -> None:
        self._grown.set()
        self._grown = asyncio.Event()


class LiveRuns:
    """The runs going on now, by invocation id, and word of each change of one."""

    def __init__(self, clock: Clock = SYSTEM_CLOCK, caps: WatchCaps = WATCH_CAPS) -> None:
        self._clock = clock
        self._caps = caps
        self._runs: dict[str, LiveRun] = {}
        self._waiting: dict[str, set[asyncio.Event]] = {}  # one event per waiter
        self._watchers: Counter[str] = Counter()  # open watchers by principal

    def begin(self, invocation_id: str, output_limit: int) -> LiveRun:
        run = LiveRun(output_limit, self._clock)
        self._runs[invocation_id] = run
        self.changed(invocation_id)
        return run

    def end(self, invocation_id: str) -> None:
        run = self._runs.pop(invocation_id, None)
        if run is not None:
            run.end()
        self.changed(invocation_id)

    def get(self, invocation_id: str) -> LiveRun | None:
        return self._runs.get(invocation_id)

    def usage(self, invocation_id: str) -> LiveUsage | None:
        run = self._runs.get(invocation_id)
        return run.usage() if run is not None else None

    @contextlib.contextmanager
    def watcher(self, principal: str) -> Iterator[None]:
        """A place for one more watcher of ``principal``'s, for as long as it watches; OverLimit
        when it has its share open already or all places are taken."""
        caps = self._caps
        if self._watchers[principal] >= caps.per_principal:
            raise OverLimit(f"{caps.per_principal} invocations followed at once by {principal}")
        if self._watchers.total() >= caps.total:
            raise OverLimit(f"{caps.total} invocations followed at once by everyone")
        self._watchers[principal] += 1
        try:
            yield
        finally:
            self._watchers[principal] -= 1
            if not self._watchers[principal]:
                del self._watchers[principal]

    @contextlib.contextmanager
    def next_change(self, invocation_id: str) -> Iterator[asyncio.Event]:
        """An event set when the invocation next begins or ends a run, or settles; forgotten
        when the waiter leaves, so that one who never sees a change leaves nothing behind."""
        event = asyncio.Event()
        self._waiting.setdefault(invocation_id, set()).add(event)
        try:
            yield event
        finally:
            waiting = self._waiting.get(invocation_id)
            if waiting is not None:
                waiting.discard(event)
                if not waiting:
                    del self._waiting[invocation_id]

    def changed(self, invocation_id: str) -> None:
        for event in self._waiting.pop(invocation_id, ()):
            event.set()
