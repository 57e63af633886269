"""How the command line writes times and sizes for people: short, and rounded to what a glance
needs (the ``--json`` forms carry the exact numbers)."""

from __future__ import annotations

__all__ = ["age_text", "cpu_text", "size_text"]

_UNITS = (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024))


def age_text(ms: int) -> str:
    seconds = max(0, ms) // 1000
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60}m"
    return f"{seconds // 3600}h"


def cpu_text(ms: int) -> str:
    """CPU time in seconds: 0.04s, 12.3s, 4512s."""
    if ms < 10_000:
        return f"{ms / 1000:.2f}s"
    if ms < 1_000_000:
        return f"{ms / 1000:.1f}s"
    return f"{ms // 1000}s"


def size_text(n: int) -> str:
    for unit, factor in _UNITS:
        if n >= factor:
            return f"{n / factor:.1f}{unit}"
    return f"{n}B"
