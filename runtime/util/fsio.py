"""Small durable-file helpers shared by the stores that write their own files."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from runtime.errors import ConfigError

__all__ = ["fsync_dir", "hold_exclusive"]


def fsync_dir(directory: Path) -> None:
    """Make a rename or a new file in ``directory`` survive a power cut."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def hold_exclusive(path: Path, *, busy: str) -> int:
    """An fd holding an exclusive lock on ``path`` (a directory, or a lock file it creates 0600)
    for as long as it stays open; ConfigError ``busy`` when another process holds it. The kernel
    lets go when the holder dies, so a crash never leaves the path held."""
    if path.is_dir():
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    else:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError as exc:
        os.close(fd)
        raise ConfigError(busy) from exc
    return fd
