"""Failed-authentication lockout, per peer and per token id (pure: the clock is passed in).

Too many failures within a window lock the key out; each further lockout of the same key lasts
twice as long, up to a maximum, until a quiet period without failures forgives it.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

__all__ = ["Lockout", "LockoutPolicy"]


@dataclass(frozen=True, kw_only=True)
class LockoutPolicy:
    max_failures: int = 10
    window_ms: int = 60_000
    base_lockout_ms: int = 60_000
    max_lockout_ms: int = 3_600_000


@dataclass
class _KeyState:
    failures: deque[int] = field(default_factory=deque)
    locked_until_ms: int = 0
    lockouts: int = 0
    last_failure_ms: int = 0


class Lockout:
    def __init__(self, policy: LockoutPolicy) -> None:
        self.policy = policy
        self._keys: dict[str, _KeyState] = {}
        self.lockouts = 0  # keys locked out since the daemon started, for its metrics

    def locked(self, key: str, now_ms: int) -> bool:
        state = self._keys.get(key)
        return state is not None and now_ms < state.locked_until_ms

    def failure(self, key: str, now_ms: int) -> None:
        policy = self.policy
        state = self._keys.setdefault(key, _KeyState())
        if now_ms - state.last_failure_ms > policy.max_lockout_ms:
            state.lockouts = 0  # a long quiet period forgives earlier lockouts
        state.last_failure_ms = now_ms
        state.failures.append(now_ms)
        while state.failures and state.failures[0] <= now_ms - policy.window_ms:
            state.failures.popleft()
        if len(state.failures) >= policy.max_failures:
            duration = min(policy.base_lockout_ms * 2**state.lockouts, policy.max_lockout_ms)
            state.locked_until_ms = now_ms + duration
            state.lockouts += 1
            state.failures.clear()
            self.lockouts += 1
        if len(self._keys) > 100_000:
            self._forget_stale(now_ms)

    def _forget_stale(self, now_ms: int) -> None:
        """Bound memory under a flood of distinct keys (random token ids, many peers)."""
        stale = [
            k
            for k, s in self._keys.items()
            if s.locked_until_ms < now_ms and now_ms - s.last_failure_ms > self.policy.window_ms
        ]
        for key in stale:
            del self._keys[key]
