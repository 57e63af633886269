"""How much longer than on a real host the tests' waits for processes may last.

Under emulation (the cgroup v2 lane sets SKILLRT_TEST_TIME_SCALE) every process starts ten to
twenty times slower than here: the waits for a daemon to serve, or for a sandbox's own child to
start, grow by this factor. Limits under test (CPU time, memory) never do.
"""

from __future__ import annotations

import os

__all__ = ["scaled"]

_SCALE = float(os.environ.get("SKILLRT_TEST_TIME_SCALE", "1"))


def scaled(seconds: float) -> float:
    """``seconds`` of waiting on a real host, as long as this host needs."""
    return seconds * _SCALE
