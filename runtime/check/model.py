"""The vocabulary of ``skillrt profile check``: a probe, what it observed, a row of the report,
and the names several areas of probes share."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = ["KILLED", "PROBE_FILE", "RESOLVE_NAME", "Observation", "Probe", "Row", "Verdict"]

RESOLVE_NAME = "example.com"
# The name of every file a probe creates, so that one left behind is recognisable.
PROBE_FILE = ".skillrt-probe"
KILLED = "killed:SIGSYS"


class Verdict(StrEnum):
    PASS = "pass"
    FAIL = "FAIL"
    INFO = "info"


@dataclass(frozen=True, kw_only=True)
class Observation:
    """What one probe saw: ``ok``, ``error`` (detail: errno name), ``killed`` (detail: signal
    name) or ``value`` (detail: the text observed); ``amount`` is how far it got, if counted."""

    result: str
    detail: str = ""
    amount: int | None = None


@dataclass(frozen=True, kw_only=True)
class Probe:
    """One line of the check: what to try, and what the profile promises it will observe.

    ``accept`` holds ``result`` or ``result:detail`` patterns; an empty set makes the probe
    report-only. ``action`` names a function of the probe program; an empty action means the
    observation comes from outside the sandbox.
    """

    key: str
    area: str
    label: str
    expected: str
    accept: frozenset[str] = frozenset()
    amount: int | None = None
    unit: str = ""
    action: str = ""
    args: tuple[object, ...] = ()
    isolated: bool = False


@dataclass(frozen=True, kw_only=True)
class Row:
    key: str
    area: str
    probe: str
    expected: str
    observed: str
    verdict: Verdict
