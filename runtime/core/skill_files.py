"""The files of a skill folder, and the one hash over them that identifies a skill's content.

A skill folder is the author's, read by a daemon running as root and shown to the sandbox, so
what it may hold is narrow: directories, regular files with one name, and symlinks that stay
inside it. A link out of the folder would let the hash read root-only files (an oracle) and a
device or fifo would stall it; a hardlink would show the sandbox a file that lives elsewhere,
perhaps in a directory it could never reach. Such folders are refused at load, naming the file.
Links are never followed while hashing (their target text is hashed), and the bytes hashed are
bounded.
"""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

from runtime.errors import ConfigError

__all__ = ["MAX_HASHED_BYTES", "content_hash", "skill_files"]

# A skill is code and small data; more than this is a mistake or an attempt to stall the daemon.
MAX_HASHED_BYTES = 64 * 1024 * 1024


def skill_files(directory: Path) -> list[Path]:
    """Every regular file and symlink of the folder (not under ``__pycache__``); ConfigError
    naming the first entry the folder may not hold."""
    root = directory.resolve()
    found = []
    for parent, dirs, files in os.walk(directory):
        here = Path(parent)
        for name in (*dirs, *files):
            path = here / name
            if _checked(path, root) and "__pycache__" not in path.relative_to(directory).parts:
                found.append(path)
    return found


def content_hash(directory: Path) -> str:
    """sha256 over the relative path and bytes of every regular file (the target of every
    symlink), in a fixed order."""
    digest = hashlib.sha256()
    budget = MAX_HASHED_BYTES
    for file in sorted(skill_files(directory)):
        digest.update(str(file.relative_to(directory)).encode() + b"\0")
        data = os.readlink(file).encode() if file.is_symlink() else _read_regular(file, budget)
        budget -= len(data)
        digest.update(hashlib.sha256(data).digest())
    return digest.hexdigest()


def _checked(path: Path, root: Path) -> bool:
    """Whether ``path`` is to be listed (a regular file or a symlink); False for a directory.

    Raises ConfigError for what a skill folder may not hold.
    """
    mode = path.lstat()
    if stat.S_ISLNK(mode.st_mode):
        try:
            target = path.resolve(strict=True)
        except (OSError, RuntimeError):  # RuntimeError: a loop
            raise ConfigError(f"{path}: a symlink to nothing") from None
        if not target.is_relative_to(root):
            raise ConfigError(f"{path}: a symlink leading out of the skill folder")
        return True
    if stat.S_ISDIR(mode.st_mode):
        return False
    if not stat.S_ISREG(mode.st_mode):
        raise ConfigError(f"{path}: a device, fifo or socket; a skill folder holds files only")
    if mode.st_nlink > 1:
        raise ConfigError(
            f"{path}: a hardlink ({mode.st_nlink} names); a skill folder holds its own files"
        )
    return True


def _read_regular(file: Path, budget: int) -> bytes:
    # O_NOFOLLOW and O_NONBLOCK: a file swapped for a link or a fifo since it was checked is
    # neither followed nor waited on.
    fd = os.open(file, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ConfigError(f"{file}: changed into something other than a file while read")
        data = handle.read(budget + 1)
    if len(data) > budget:
        raise ConfigError(
            f"{file}: the skill folder holds more than {MAX_HASHED_BYTES // (1024 * 1024)} MiB"
        )
    return data
