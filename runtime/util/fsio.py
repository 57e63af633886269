"""Small durable-file helpers shared by the stores that write their own files."""

from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
from pathlib import Path

from runtime.errors import ConfigError

__all__ = ["fsync_dir", "hold_exclusive", "replace_text"]


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


def replace_text(path: Path, text: str) -> None:
    """Replace ``path`` whole with ``text`` (readable by all, mode 0644), so that a reader
    never sees half of it. The temporary file is new, under a name no one could plant first:
    a fixed name beside ``path`` may already be a link, and writing through it would overwrite
    whatever it leads to. OSError when it cannot be written; nothing is left behind."""
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as stream:
            os.fchmod(stream.fileno(), 0o644)
            stream.write(text)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
