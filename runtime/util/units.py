"""Parsing of human-written sizes ("128MiB") and durations ("5s", "500ms").

Everywhere a size or duration is read (profiles, manifests, the daemon config, command-line
flags), a number without a unit counts in the base unit: bytes for a size, seconds for a
duration, so ``wall_time = 30``, ``wall_time = "30"`` and ``wall_time = "30s"`` are the same.
Anything else (a list, a date, a negative or non-finite number) is a ValueError naming the value.
"""

from __future__ import annotations

import math
import re
from typing import Any

__all__ = ["format_duration", "format_size", "parse_duration_ms", "parse_size"]

_SIZE_UNITS = {
    "": 1,
    "b": 1,
    "k": 1000,
    "kb": 1000,
    "kib": 1024,
    "m": 1000**2,
    "mb": 1000**2,
    "mib": 1024**2,
    "g": 1000**3,
    "gb": 1000**3,
    "gib": 1024**3,
}
_DURATION_UNITS_MS = {
    "ms": 1,
    "s": 1000,
    "m": 60_000,
    "min": 60_000,
    "h": 3_600_000,
    "d": 86_400_000,
}
_INT64_MAX = 2**63 - 1
_NUMBER = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$")


def parse_size(text: Any) -> int:
    """Bytes in ``text``; raises ValueError with the reason when it is not a size."""
    if isinstance(text, int | float) and not isinstance(text, bool):
        return _scaled(text, 1, "size")
    if not isinstance(text, str):
        raise ValueError(f"expected a size like 64MiB or 512KiB, got {_kind(text)}")
    match = _NUMBER.match(text)
    unit = match.group(2).lower() if match else None
    if match is None or unit not in _SIZE_UNITS:
        raise ValueError(f"expected a size like 64MiB or 512KiB, got {text!r}")
    return _fits(int(float(match.group(1)) * _SIZE_UNITS[unit]), text, "size")


def parse_duration_ms(text: Any) -> int:
    """Milliseconds in ``text`` (a bare number means seconds); raises ValueError otherwise."""
    if isinstance(text, int | float) and not isinstance(text, bool):
        return _scaled(text, 1000, "duration")
    if not isinstance(text, str):
        raise ValueError(f"expected a duration like 5s or 500ms, got {_kind(text)}")
    match = _NUMBER.match(text)
    unit = (match.group(2).lower() or "s") if match else None
    if match is None or unit not in _DURATION_UNITS_MS:
        raise ValueError(f"expected a duration like 5s or 500ms, got {text!r}")
    return _fits(int(float(match.group(1)) * _DURATION_UNITS_MS[unit]), text, "duration")


def _scaled(number: float, factor: int, what: str) -> int:
    if not math.isfinite(number) or number < 0:
        raise ValueError(f"{what} must be a finite number that is not negative, got {number}")
    scaled = int(number * factor) if isinstance(number, float) else number * factor
    return _fits(scaled, number, what)


def _fits(value: int, written: object, what: str) -> int:
    # Limits end up in kernel interfaces and SQLite, which hold at most a signed 64-bit integer.
    if value > _INT64_MAX:
        raise ValueError(f"{what} {written!r} is too large")
    return value


def _kind(value: Any) -> str:
    return "true or false" if isinstance(value, bool) else f"a {type(value).__name__}"


def format_size(n: int) -> str:
    """The shortest exact binary-unit spelling of ``n`` bytes."""
    for unit, factor in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if n >= factor and n % factor == 0:
            return f"{n // factor}{unit}"
    return f"{n}B"


def format_duration(ms: int) -> str:
    return f"{ms // 1000}s" if ms % 1000 == 0 else f"{ms}ms"
