"""Quarantine, the pure part: which trips of the sandbox count, the sliding window that counts
them per skill content, and what a quarantine is and says.

A skill's calls trip the sandbox when they end killed by its seccomp policy, at its memory or
pids limit, past its output limit or with invalid output, and each time one of them is refused
a connection by its egress proxy. Only these kinds count: a nonzero exit, a timeout or a CPU
limit is a tool's ordinary failure, not an attack on the sandbox. Trips are counted per skill
*content* (name and content hash): a quarantine is bound to the content that tripped it, and a
changed skill starts with no trips. Session commands are no skill's calls and never count.
"""

from __future__ import annotations

import datetime
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from runtime.sandbox.result import SandboxResult, Status

__all__ = [
    "AUTOMATIC",
    "MANUAL",
    "Crossing",
    "Quarantine",
    "QuarantineSettings",
    "Running",
    "SkillKey",
    "TripCounter",
    "TripKind",
    "result_trips",
]

AUTOMATIC = "automatic"  # who quarantined a skill that crossed a threshold
MANUAL = "manual"  # the kind of a quarantine an operator imposed by hand
SkillKey = tuple[str, str]  # (skill name, content hash)


class TripKind(StrEnum):
    """A kind of trip; its value is also the settings key of its threshold."""

    SECCOMP = "seccomp_kills"
    EGRESS = "egress_denials"
    MEMORY = "memory_limit"
    PIDS = "pids_limit"
    OUTPUT = "output_limit"
    INVALID_OUTPUT = "invalid_output"


# How a count of each kind reads in a sentence ("12 seccomp kills").
_PLURALS = {
    TripKind.SECCOMP: "seccomp kills",
    TripKind.EGRESS: "egress denials",
    TripKind.MEMORY: "memory limit kills",
    TripKind.PIDS: "pids limit hits",
    TripKind.OUTPUT: "output floods",
    TripKind.INVALID_OUTPUT: "invalid outputs",
}


class Running(StrEnum):
    """What becomes of a skill's calls already running when it is quarantined (a call still
    waiting for a sandbox slot never starts: the runner asks again once it has one)."""

    KILL = "kill"
    FINISH = "finish"


def _default_thresholds() -> dict[TripKind, int]:
    return dict.fromkeys(TripKind, 10)


@dataclass(frozen=True, kw_only=True)
class QuarantineSettings:
    """``[quarantine]``: a threshold of 0 turns that kind off; ``enabled = false`` every kind
    (quarantines already imposed, and an operator's, still hold)."""

    enabled: bool = True
    window_ms: int = 60_000
    thresholds: Mapping[TripKind, int] = field(default_factory=_default_thresholds)
    running: Running = Running.KILL


@dataclass(frozen=True, kw_only=True)
class Crossing:
    """A skill content's trips of one kind reached their threshold within the window."""

    kind: TripKind
    count: int
    threshold: int
    window_ms: int
    counts: dict[str, int]  # every kind's trips within the window, at that moment

    @property
    def reason(self) -> str:
        return (
            f"{self.count} {_PLURALS[self.kind]} in {_span(self.window_ms)} "
            f"(threshold {self.threshold})"
        )


@dataclass(frozen=True, kw_only=True)
class Quarantine:
    """One skill content refused until an operator releases it."""

    skill: str
    content_hash: str
    kind: str  # a TripKind's value, or MANUAL
    reason: str  # one line: what tripped it, or the operator's words
    counts: dict[str, int]  # the trips that tripped it, by kind (none for MANUAL)
    since_ms: int
    by: str  # AUTOMATIC, or the principal who imposed it
    released_by: str | None = None
    released_ms: int | None = None

    @property
    def key(self) -> SkillKey:
        return (self.skill, self.content_hash)

    def refusal(self) -> str:
        """Why the skill is not served, and how it may be again (one line)."""
        since = datetime.datetime.fromtimestamp(self.since_ms / 1000, datetime.UTC)
        who = "automatically" if self.by == AUTOMATIC else f"by {self.by}"
        return (
            f"quarantined since {since.strftime('%Y-%m-%d %H:%M:%SZ')} {who}: {self.reason}; "
            f"an operator can release it: skillrt skills release {self.skill}"
        )


def _span(ms: int) -> str:
    """A window as a person says it: "60 s", "10 min", "1 h"."""
    if ms % 3_600_000 == 0:
        return f"{ms // 3_600_000} h"
    if ms % 60_000 == 0 and ms > 60_000:
        return f"{ms // 60_000} min"
    return f"{ms // 1000} s" if ms % 1000 == 0 else f"{ms} ms"


def result_trips(result: SandboxResult) -> tuple[TripKind, ...]:
    """The kinds a finished call tripped, each once (its egress denials are counted as they
    happen, not here)."""
    found = set()
    for line in result.violations:
        if line.startswith("seccomp:"):
            found.add(TripKind.SECCOMP)
        elif line.startswith("memory limit:"):
            found.add(TripKind.MEMORY)
        elif line.startswith("pids limit:"):
            found.add(TripKind.PIDS)
    by_status = {
        Status.SECCOMP_VIOLATION: TripKind.SECCOMP,
        Status.MEMORY_LIMIT: TripKind.MEMORY,
        Status.OUTPUT_LIMIT: TripKind.OUTPUT,
        Status.INVALID_OUTPUT: TripKind.INVALID_OUTPUT,
    }
    if result.status in by_status:
        found.add(by_status[result.status])
    return tuple(kind for kind in TripKind if kind in found)


class TripCounter:
    """Trips per skill content and kind over a sliding window; says when one crosses its
    threshold. Only the newest ``threshold`` moments of each are kept: nothing grows with a
    flood of trips, and a content that stops tripping is forgotten once its window passes."""

    def __init__(self, settings: QuarantineSettings) -> None:
        self.settings = settings
        self._moments: dict[SkillKey, dict[TripKind, deque[int]]] = {}

    def add(self, key: SkillKey, kinds: Iterable[TripKind], now_ms: int) -> Crossing | None:
        """Count one trip of each of ``kinds``; the first kind that reached its threshold."""
        settings = self.settings
        self._forget_before(now_ms - settings.window_ms)
        if not settings.enabled:
            return None
        crossed: tuple[TripKind, int] | None = None
        for kind in kinds:
            threshold = settings.thresholds.get(kind, 0)
            if threshold <= 0:
                continue
            moments = self._moments.setdefault(key, {}).setdefault(kind, deque())
            moments.append(now_ms)
            while len(moments) > threshold:
                moments.popleft()
            if len(moments) >= threshold and crossed is None:
                crossed = (kind, threshold)
        if crossed is None:
            return None
        kind, threshold = crossed
        counts = {k.value: len(m) for k, m in self._moments[key].items() if m}
        return Crossing(
            kind=kind,
            count=counts[kind.value],
            threshold=threshold,
            window_ms=settings.window_ms,
            counts=counts,
        )

    def reset(self, key: SkillKey) -> None:
        """Start the content's count over (once quarantined, and once released)."""
        self._moments.pop(key, None)

    def _forget_before(self, oldest_ms: int) -> None:
        for key in list(self._moments):
            kinds = self._moments[key]
            for moments in kinds.values():
                while moments and moments[0] <= oldest_ms:
                    moments.popleft()
            if not any(kinds.values()):
                del self._moments[key]
