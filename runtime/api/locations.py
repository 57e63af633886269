"""Where a daemon is found unless told otherwise: its socket and its state directory.

Apart from ``runtime.api.config`` so that the command line and the clients can find a daemon
without loading everything the daemon's configuration is made of.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = [
    "ADMIN_TOKEN_NAME",
    "DEFAULT_SOCKET",
    "DEFAULT_STATE_DIR",
    "default_socket",
    "default_state_dir",
]

DEFAULT_SOCKET = Path("/run/skillrt/skillrt.sock")
DEFAULT_STATE_DIR = Path("/var/lib/skillrt")
ADMIN_TOKEN_NAME = "admin.token"  # the daemon's own token, in its state directory


def default_socket() -> Path:
    """``$SKILLRT_SOCKET``, else the built-in path."""
    return Path(os.environ.get("SKILLRT_SOCKET") or DEFAULT_SOCKET)


def default_state_dir() -> Path:
    """``$SKILLRT_STATE_DIR``, else the built-in path."""
    return Path(os.environ.get("SKILLRT_STATE_DIR") or DEFAULT_STATE_DIR)
