"""The files of a skill folder, copied into a snapshot with the one hash over what was copied.

A skill folder is the author's, read by a daemon running as root and shown to the sandbox, so
what it may hold is narrow: directories, regular files with one name, and symlinks that stay
inside it. A link out of the folder would let the hash read root-only files (an oracle) and a
device or fifo would stall it; a hardlink would show the sandbox a file that lives elsewhere,
perhaps in a directory it could never reach. Such folders are refused at load, naming the file.
Links are never followed while copying, and the bytes copied are bounded.

The hash is computed from the bytes written into the copy, never from a second read of the
folder: what a sandbox runs is exactly what was hashed, however the author's folder changes
meanwhile.
"""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

from runtime.errors import ConfigError

__all__ = ["MAX_HASHED_BYTES", "copy_skill", "skill_files"]

# A skill is code and small data; more than this is a mistake or an attempt to stall the daemon.
MAX_HASHED_BYTES = 64 * 1024 * 1024
# What follows a file's relative path in the hash, before the sha256 of its bytes: a regular
# file's marker is empty (the hashes of skills without links or executables stay as they were).
_EXECUTABLE = b"x"
_LINK = b"l"


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


def copy_skill(directory: Path, dest: Path) -> str:
    """Copy every file of the folder into ``dest`` (an empty directory), read-only (0444, 0555
    when the author's file is executable), and return the sha256 over what was written: each
    relative path, a marker for executables and links, and the bytes (a link's target text),
    in a fixed order.

    A link is written relative to where it stands, so that it points into the copy, never back
    to the author's folder (whose path the sandbox must not learn).
    """
    root = directory.resolve()
    digest = hashlib.sha256()
    budget = MAX_HASHED_BYTES
    for file in sorted(skill_files(directory)):
        relative = file.relative_to(directory)
        target = dest / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        if file.is_symlink():
            text = _inside_link(file, root, relative)
            os.symlink(text, target)
            data, marker = text.encode(), _LINK
        else:
            data, executable = _read_regular(file, budget)
            _write(target, data, 0o555 if executable else 0o444)
            marker = _EXECUTABLE if executable else b""
        budget -= len(data)
        digest.update(str(relative).encode() + b"\0" + marker)
        digest.update(hashlib.sha256(data).digest())
    return digest.hexdigest()


def _checked(path: Path, root: Path) -> bool:
    """Whether ``path`` is to be listed (a regular file or a symlink); False for a directory.

    Raises ConfigError for what a skill folder may not hold.
    """
    mode = path.lstat()
    if stat.S_ISLNK(mode.st_mode):
        _link_target(path, root)
        return True
    if stat.S_ISDIR(mode.st_mode):
        return False
    if not stat.S_ISREG(mode.st_mode):
        raise ConfigError(f"{path}: a device, fifo or socket; a skill folder holds files only")
    _one_name(path, mode.st_nlink)
    return True


def _link_target(path: Path, root: Path) -> Path:
    """Where the symlink ``path`` leads, which must be inside ``root``."""
    try:
        target = path.resolve(strict=True)
    except (OSError, RuntimeError):  # RuntimeError: a loop
        raise ConfigError(f"{path}: a symlink to nothing") from None
    if not target.is_relative_to(root):
        raise ConfigError(f"{path}: a symlink leading out of the skill folder")
    return target


def _inside_link(path: Path, root: Path, relative: Path) -> str:
    target = _link_target(path, root).relative_to(root)
    return os.path.relpath(target, relative.parent)


def _one_name(path: Path, links: int) -> None:
    if links > 1:
        raise ConfigError(f"{path}: a hardlink ({links} names); a skill folder holds its own files")


def _read_regular(file: Path, budget: int) -> tuple[bytes, bool]:
    """The file's bytes, and whether anyone may execute it."""
    # O_NOFOLLOW and O_NONBLOCK: a file swapped for a link or a fifo since it was checked is
    # neither followed nor waited on; fstat sees a hardlink made since.
    fd = os.open(file, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ConfigError(f"{file}: changed into something other than a file while read")
        _one_name(file, info.st_nlink)
        data = handle.read(budget + 1)
    if len(data) > budget:
        raise ConfigError(
            f"{file}: the skill folder holds more than {MAX_HASHED_BYTES // (1024 * 1024)} MiB"
        )
    return data, bool(info.st_mode & 0o111)


def _write(target: Path, data: bytes, mode: int) -> None:
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        os.fchmod(fd, mode)
