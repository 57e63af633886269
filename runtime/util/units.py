"""Parsing of human-written sizes ("128MiB") and durations ("5s", "500ms")."""

from __future__ import annotations

import re

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
_NUMBER = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$")


def parse_size(text: str | int) -> int:
    """Bytes in ``text``; raises ValueError with the reason when it is not a size."""
    if isinstance(text, bool):
        raise ValueError(f"expected a size, got {text!r}")
    if isinstance(text, int):
        if text < 0:
            raise ValueError(f"size must not be negative, got {text}")
        return text
    match = _NUMBER.match(text)
    unit = match.group(2).lower() if match else None
    if match is None or unit not in _SIZE_UNITS:
        raise ValueError(f"expected a size like 64MiB or 512KiB, got {text!r}")
    return int(float(match.group(1)) * _SIZE_UNITS[unit])


def parse_duration_ms(text: str | int) -> int:
    """Milliseconds in ``text`` (a bare number means seconds); raises ValueError otherwise."""
    if isinstance(text, bool):
        raise ValueError(f"expected a duration, got {text!r}")
    if isinstance(text, int):
        if text < 0:
            raise ValueError(f"duration must not be negative, got {text}")
        return text * 1000
    match = _NUMBER.match(text)
    unit = (match.group(2).lower() or "s") if match else None
    if match is None or unit not in _DURATION_UNITS_MS:
        raise ValueError(f"expected a duration like 5s or 500ms, got {text!r}")
    return int(float(match.group(1)) * _DURATION_UNITS_MS[unit])


def format_size(n: int) -> str:
    """The shortest exact binary-unit spelling of ``n`` bytes."""
    for unit, factor in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if n >= factor and n % factor == 0:
            return f"{n // factor}{unit}"
    return f"{n}B"


def format_duration(ms: int) -> str:
    return f"{ms // 1000}s" if ms % 1000 == 0 else f"{ms}ms"
