"""What one invocation's proxy may cost the process that runs it (the daemon, or a CLI run).

The profile's ``egress_connections`` caps the connections an invocation opens over its life;
these caps protect the daemon itself, whatever a profile says, so they are the runtime's own: how
many connections one sandbox may hold open at once, how long a connection may take to send its
request head or sit idle, and how many file descriptors the process keeps free for everything
else (gRPC callers, other sandboxes, the audit log): past that reserve, proxies accept nothing.
"""

from __future__ import annotations

import os
import resource
from dataclasses import dataclass

__all__ = ["CAPS", "ConnectionCaps", "free_descriptors"]


@dataclass(frozen=True, kw_only=True)
class ConnectionCaps:
    max_open: int  # connections of one sandbox open at once
    head_timeout_seconds: float  # from accepting a connection to its request head's end
    idle_timeout_seconds: float  # a relayed connection with no byte either way
    descriptor_reserve: int  # free descriptors below which no proxy accepts a connection


CAPS = ConnectionCaps(
    max_open=32, head_timeout_seconds=10, idle_timeout_seconds=60, descriptor_reserve=256
)


def free_descriptors() -> int:
    """How many more descriptors this process may open before its soft RLIMIT_NOFILE."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    # The listing holds one descriptor of its own while it runs.
    used = len(os.listdir("/proc/self/fd")) - 1
    return soft - used if soft != resource.RLIM_INFINITY else 1 << 30
