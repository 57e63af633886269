"""Per-principal rate limits for runaway agents (pure: the clock is passed in).

Three limits, each optional: invocations started per minute, invocations running at once, and
sandbox CPU time per hour. Exceeding one is RESOURCE_EXHAUSTED naming the limit, with a hint of
when a retry may succeed.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from runtime.auth.roles import Principal
from runtime.errors import OverLimit

__all__ = ["Permit", "RateLimiter", "RateLimits"]

_MINUTE_MS = 60_000
_HOUR_MS = 3_600_000


@dataclass(frozen=True, kw_only=True)
class RateLimits:
    invocations_per_minute: int | None = None
    concurrent: int | None = None
    cpu_seconds_per_hour: int | None = None


@dataclass
class _Usage:
    starts: deque[int] = field(default_factory=deque)
    running: int = 0
    cpu: deque[tuple[int, int]] = field(default_factory=deque)  # (finished ms, cpu ms)


class Permit:
    """One admitted invocation; ``finish`` returns its slot and books its CPU time."""

    def __init__(self, usage: _Usage) -> None:
        self._usage = usage
        self._open = True

    def finish(self, cpu_ms: int, now_ms: int) -> None:
        if not self._open:
            return
        self._open = False
        self._usage.running -= 1
        if cpu_ms:
            self._usage.cpu.append((now_ms, cpu_ms))


class RateLimiter:
    def __init__(self, limits_for: Callable[[Principal], RateLimits]) -> None:
        self._limits_for = limits_for
        self._usage: dict[str, _Usage] = {}

    def charge(self, name: str, cpu_ms: int, now_ms: int) -> None:
        """Book CPU time spent outside a permit (a run that started after its approval)."""
        if cpu_ms:
            self._usage.setdefault(name, _Usage()).cpu.append((now_ms, cpu_ms))

    def admit(self, principal: Principal, now_ms: int) -> Permit:
        limits = self._limits_for(principal)
        usage = self._usage.setdefault(principal.name, _Usage())
        _forget(usage, now_ms)
        who = f"{principal.role.value} {principal.name!r}"
        per_minute = limits.invocations_per_minute
        if per_minute is not None and len(usage.starts) >= per_minute:
            wait = usage.starts[0] + _MINUTE_MS - now_ms
            raise _exhausted(f"{per_minute} invocations per minute for {who}", wait)
        if limits.concurrent is not None and usage.running >= limits.concurrent:
            raise _exhausted(f"{limits.concurrent} concurrent invocations for {who}", 1000)
        if limits.cpu_seconds_per_hour is not None:
            budget_ms = limits.cpu_seconds_per_hour * 1000
            used = sum(cpu for _, cpu in usage.cpu)
            if used >= budget_ms:
                wait = _until_below(usage.cpu, used - budget_ms, now_ms)
                raise _exhausted(
                    f"{limits.cpu_seconds_per_hour} sandbox CPU-seconds per hour for {who}", wait
                )
        usage.starts.append(now_ms)
        usage.running += 1
        return Permit(usage)


def _forget(usage: _Usage, now_ms: int) -> None:
    while usage.starts and usage.starts[0] <= now_ms - _MINUTE_MS:
        usage.starts.popleft()
    while usage.cpu and usage.cpu[0][0] <= now_ms - _HOUR_MS:
        usage.cpu.popleft()


def _until_below(cpu: deque[tuple[int, int]], excess_ms: int, now_ms: int) -> int:
    """How long until enough CPU time ages out of the hour to be back under budget."""
    freed = 0
    for finished, spent in cpu:
        freed += spent
        if freed > excess_ms:
            return finished + _HOUR_MS - now_ms
    return _HOUR_MS


def _exhausted(limit: str, wait_ms: int) -> OverLimit:
    seconds = max(1, math.ceil(wait_ms / 1000))
    return OverLimit(
        f"rate limit reached: {limit}; retry in {seconds} s", retry_after_seconds=seconds
    )
