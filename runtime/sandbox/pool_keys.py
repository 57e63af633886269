"""What the warm pool keeps for each key, and how many sandboxes each key wants (no I/O).

A key's target follows its demand: zero once unused for ``idle`` (or while its tool does not
wait for its input), else enough to cover the
arrivals of the last few seconds during twice the time one start takes, at least one, at most
``max_per_key``.
"""

from __future__ import annotations

import asyncio
import math
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from runtime.sandbox.nsjail import SandboxSpec
from runtime.sandbox.started import Sandbox

__all__ = [
    "Key",
    "KeyStatus",
    "PoolLabel",
    "PoolSettings",
    "PoolStatus",
    "Warm",
    "summary",
    "unpoolable",
]

_MIB = 1024 * 1024
# Demand is the arrivals of the last few seconds; a start is assumed to take this long until one
# has been measured.
_RATE_WINDOW_SECONDS = 10.0
_FIRST_START_GUESS_SECONDS = 0.05
# Enough warm sandboxes to cover the arrivals during twice the time one takes to start.
_HEADROOM = 2.0
# A tool blocked reading its input uses no CPU: once settled, a warm sandbox that uses more than
# this between two upkeeps is not waiting (a spinning tool would run uncharged between calls).
_SETTLING_SECONDS = 1.0
_WAITING_CPU_NS = 100_000_000


@dataclass(frozen=True, kw_only=True)
class PoolSettings:
    # Off unless the operator turns it on: warm sandboxes run tools' code ahead of their calls and
    # hold memory, host uids and processes while nothing uses them.
    enabled: bool = False
    max_per_key: int = 4
    max_total: int = 16
    memory_budget_bytes: int = 256 * _MIB
    idle_ms: int = 60_000  # a key unused this long drains to zero; no warm sandbox is older


@dataclass(frozen=True, kw_only=True)
class PoolLabel:
    """What operators see of a key."""

    skill: str
    tool: str
    profile: str
    content_hash: str


@dataclass(frozen=True, kw_only=True)
class KeyStatus:
    label: PoolLabel
    ready: int
    starting: int
    target: int
    hits: int
    misses: int
    evictions: int
    memory_bytes: int


@dataclass(frozen=True, kw_only=True)
class PoolStatus:
    enabled: bool
    memory_budget_bytes: int
    memory_bytes: int
    ready: int
    max_total: int
    keys: tuple[KeyStatus, ...]
    # Since the pool began, over every key, those gone included.
    hits: int
    misses: int
    evictions: int


def unpoolable(spec: SandboxSpec) -> str | None:
    """Why a sandbox for ``spec`` must not be started ahead of its call, or None."""
    if spec.secret_env:
        return "it receives secrets at start"
    if spec.profile.network.mode == "allowlist":
        return "its egress proxy is opened for each sandbox"
    if spec.identity is not None:
        return "it runs as a session's identity"
    if spec.elevated:
        return "it is elevated"
    return None


@dataclass(eq=False)
class Warm:
    sandbox: Sandbox
    ready_at: float
    memory_bytes: int
    cpu_ns: int | None = None  # its CPU at the last upkeep, once settled


@dataclass(eq=False)
class Key:
    label: PoolLabel
    spec: SandboxSpec
    keep: tuple[object, ...]  # what must live while its sandboxes do (the skill's snapshot)
    memory_estimate: int  # what one of its warm sandboxes is charged, at least
    ready: deque[Warm] = field(default_factory=deque)
    starting: int = 0
    arrivals: deque[float] = field(default_factory=deque)
    last_used: float = 0.0
    start_seconds: float = _FIRST_START_GUESS_SECONDS
    failed_at: float = -math.inf
    retired: bool = False
    # Its tool does not wait for its input (it ended, or kept using the CPU): no sandbox of
    # it is kept warm until the key is unused for ``idle``.
    restless: bool = False
    hits: int = 0
    misses: int = 0
    evictions: int = 0
    filling: asyncio.Task[None] | None = None

    def charge(self, warm: Warm) -> int:
        """What ``warm`` counts against the memory budget: as measured, at least the estimate."""
        return max(warm.memory_bytes, self.memory_estimate)

    def charged(self) -> int:
        """Its warm sandboxes' charges, and each one starting as the estimate."""
        return sum(self.charge(w) for w in self.ready) + self.starting * self.memory_estimate

    def unfit(self, warm: Warm, now: float, settings: PoolSettings) -> str | None:
        """Why ``warm`` may not be served any more, or None; a tool found not waiting for its
        input makes its key restless."""
        if not warm.sandbox.waiting:
            self.restless = True
            return "its process ended before a call took it"
        if now - warm.ready_at >= settings.idle_ms / 1000:
            return "it waited too long"
        if now - warm.ready_at < _SETTLING_SECONDS:
            return None  # its tool may still be loading
        used, warm.cpu_ns = warm.cpu_ns, warm.sandbox.cpu_ns_so_far()
        if used is None or warm.cpu_ns - used <= _WAITING_CPU_NS:
            return None
        self.restless = True
        return "it kept using the CPU while waiting for its input"

    def demand(self, now: float) -> int:
        """Its calls of the last few seconds."""
        while self.arrivals and now - self.arrivals[0] > _RATE_WINDOW_SECONDS:
            self.arrivals.popleft()
        return len(self.arrivals)

    def idle(self, now: float, settings: PoolSettings) -> bool:
        return now - self.last_used > settings.idle_ms / 1000

    def target(self, now: float, settings: PoolSettings) -> int:
        if self.retired or self.restless or self.idle(now, settings):
            return 0
        if not self.demand(now):
            return min(1, settings.max_per_key)
        rate = len(self.arrivals) / max(now - self.arrivals[0], 1.0)
        wanted = max(1, math.ceil(rate * self.start_seconds * _HEADROOM))
        return min(wanted, settings.max_per_key)

    def status(self, now: float, settings: PoolSettings) -> KeyStatus:
        return KeyStatus(
            label=self.label,
            ready=len(self.ready),
            starting=self.starting,
            target=self.target(now, settings),
            hits=self.hits,
            misses=self.misses,
            evictions=self.evictions,
            memory_bytes=sum(w.memory_bytes for w in self.ready),
        )


def summary(
    keys: Iterable[Key], settings: PoolSettings, gone: Mapping[str, int], now: float
) -> PoolStatus:
    """The pool as operators see it; ``gone``: what keys no longer there counted."""
    shown = tuple(key.status(now, settings) for key in keys)
    return PoolStatus(
        enabled=settings.enabled,
        memory_budget_bytes=settings.memory_budget_bytes,
        memory_bytes=sum(k.memory_bytes for k in shown),
        ready=sum(k.ready for k in shown),
        max_total=settings.max_total,
        keys=shown,
        hits=gone.get("hits", 0) + sum(k.hits for k in shown),
        misses=gone.get("misses", 0) + sum(k.misses for k in shown),
        evictions=gone.get("evictions", 0) + sum(k.evictions for k in shown),
    )
