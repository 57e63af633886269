"""Small durable-file helpers shared by the stores that write their own files."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import stat
import tempfile
from pathlib import Path

from runtime.errors import ConfigError

__all__ = ["fsync_dir", "hold_exclusive", "read_regular", "replace_text"]


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


# Never through a link; O_NONBLOCK: a fifo put in its place is not waited on (fstat refuses it).
_READ_REGULAR = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


def read_regular(path: Path, limit: int, *, what: str) -> bytes:
    """The bytes of ``path``, a regular file of at most ``limit`` bytes, for a file a stranger
    may have placed (beside a skill folder, say): never read through a link, never waited on
    as a fifo, never read past ``limit``. ConfigError naming the file otherwise (``what`` it
    must be); FileNotFoundError passes through, for the caller to say what its absence means."""
    try:
        fd = os.open(path, _READ_REGULAR)
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            raise
        if exc.errno == errno.ELOOP:
            raise ConfigError(f"{path}: a symlink; {what} must be a file") from None
        raise ConfigError(f"{path}: cannot be read: {exc.strerror}") from None
    try:
        status = os.fstat(fd)
        if not stat.S_ISREG(status.st_mode):
            raise ConfigError(f"{path}: not a regular file")
        if status.st_size > limit:
            raise ConfigError(f"{path}: larger than {limit} bytes")
        chunks: list[bytes] = []
        size = 0
        while size <= limit:
            chunk = os.read(fd, min(65536, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read: {exc.strerror}") from None
    finally:
        os.close(fd)
    if size > limit:  # it grew while being read
        raise ConfigError(f"{path}: larger than {limit} bytes")
    return b"".join(chunks)


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
