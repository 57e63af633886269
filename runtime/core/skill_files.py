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

import errno
import hashlib
import os
import stat
from pathlib import Path, PurePosixPath

from runtime.errors import ConfigError

__all__ = ["MAX_HASHED_BYTES", "copy_skill", "skill_files"]

# A skill is code and small data; more than this is a mistake or an attempt to stall the daemon.
MAX_HASHED_BYTES = 64 * 1024 * 1024
# What follows a file's relative path in the hash, before the sha256 of its bytes: a regular
# file's marker is empty (the hashes of skills without links or executables stay as they were).
_EXECUTABLE = b"x"
_LINK = b"l"
# Opened relative to the parent's descriptor, never following a link. O_NONBLOCK: a file swapped
# for a fifo since it was listed is not waited on; fstat then refuses it, and sees a hardlink.
_DIRECTORY = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
# Deeper than any skill needs; walked by descriptors, the depth has no path length to bound it.
_MAX_DEPTH = 64
_NOT_A_FILE = "a device, fifo or socket; a skill folder holds files only"
# What an entry became, by the error opening or reading it as what it was listed as.
_CHANGES = {
    errno.ELOOP: "became a symlink",
    errno.ENOTDIR: "is no longer a directory",
    errno.EINVAL: "is no longer a symlink",
    errno.ENOENT: "was removed",
}


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
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        copy = _Copy(directory=directory, root=_opened_path(fd), dest=dest)
        copy.folder(fd, PurePosixPath())
    finally:
        os.close(fd)
    return copy.digest.hexdigest()


class _Copy:
    """One copy under way: the hash so far and the bytes still allowed.

    The folder is walked by directory descriptors, each entry opened relative to its parent's
    and never followed: the author may swap any directory for a link to a root-only one at any
    moment, and a path resolved again after the listing would follow that link.
    """

    def __init__(self, *, directory: Path, root: Path, dest: Path) -> None:
        self.directory = directory
        self.root = root
        self.dest = dest
        self.digest = hashlib.sha256()
        self.budget = MAX_HASHED_BYTES

    def folder(self, fd: int, relative: PurePosixPath) -> None:
        """Copy the entries of the directory open as ``fd``; names sorted at each level give
        the order of sorted relative paths, which the hash has always used."""
        if len(relative.parts) > _MAX_DEPTH:
            raise ConfigError(f"{self.directory / relative}: more than {_MAX_DEPTH} levels deep")
        with os.scandir(fd) as listing:
            entries = sorted(listing, key=lambda entry: entry.name)
        for entry in entries:
            if entry.name != "__pycache__":
                self.entry(fd, entry, relative / entry.name)

    def entry(self, parent: int, entry: os.DirEntry[str], relative: PurePosixPath) -> None:
        shown = self.directory / relative
        target = self.dest / relative
        if entry.is_symlink():
            text = _copied_link(parent, entry.name, self.root, relative, shown)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.symlink(text, target)
            data, marker = text.encode(), _LINK
        elif entry.is_dir(follow_symlinks=False):
            fd = _open_at(parent, entry.name, _DIRECTORY, shown)
            try:
                self.folder(fd, relative)
            finally:
                os.close(fd)
            return
        elif entry.is_file(follow_symlinks=False):
            data, executable = _read_regular(parent, entry.name, shown, self.budget)
            target.parent.mkdir(parents=True, exist_ok=True)
            _write(target, data, 0o555 if executable else 0o444)
            marker = _EXECUTABLE if executable else b""
        else:
            raise ConfigError(f"{shown}: {_NOT_A_FILE}")
        self.budget -= len(data)
        self.digest.update(str(relative).encode() + b"\0" + marker)
        self.digest.update(hashlib.sha256(data).digest())


def _checked(path: Path, root: Path) -> bool:
    """Whether ``path`` is to be listed (a regular file or a symlink); False for a directory.

    Raises ConfigError for what a skill folder may not hold.
    """
    mode = path.lstat()
    if stat.S_ISLNK(mode.st_mode):
        _link_target(path, root, path)
        return True
    if stat.S_ISDIR(mode.st_mode):
        return False
    if not stat.S_ISREG(mode.st_mode):
        raise ConfigError(f"{path}: {_NOT_A_FILE}")
    _one_name(path, mode.st_nlink)
    return True


def _link_target(path: Path, root: Path, shown: Path) -> Path:
    """Where ``path`` leads, which must be inside ``root``; errors name the link ``shown``."""
    try:
        target = path.resolve(strict=True)
    except (OSError, RuntimeError):  # RuntimeError: a loop
        raise ConfigError(f"{shown}: a symlink to nothing") from None
    if not target.is_relative_to(root):
        raise ConfigError(f"{shown}: a symlink leading out of the skill folder")
    return target


def _copied_link(parent: int, name: str, root: Path, relative: PurePosixPath, shown: Path) -> str:
    """The text of the copy of the link ``name`` in the directory open as ``parent``."""
    try:
        text = os.readlink(name, dir_fd=parent)
    except OSError as exc:
        raise _changed(shown, exc) from None
    # The text is resolved from the directory the link was found in, as the kernel names it
    # through its descriptor, not from a path the author could have swapped since.
    target = _link_target(_opened_path(parent) / text, root, shown)
    return os.path.relpath(target.relative_to(root), relative.parent)


def _opened_path(fd: int) -> Path:
    return Path(os.readlink(f"/proc/self/fd/{fd}"))


def _open_at(parent: int, name: str, flags: int, shown: Path) -> int:
    try:
        return os.open(name, flags, dir_fd=parent)
    except OSError as exc:
        raise _changed(shown, exc) from None


def _changed(shown: Path, exc: OSError) -> Exception:
    """A ConfigError for an entry that changed between the listing and its reading; any other
    failure as it was."""
    what = _CHANGES.get(exc.errno or 0)
    return exc if what is None else ConfigError(f"{shown}: {what} while the skill was copied")


def _one_name(path: Path, links: int) -> None:
    if links > 1:
        raise ConfigError(f"{path}: a hardlink ({links} names); a skill folder holds its own files")


def _read_regular(parent: int, name: str, file: Path, budget: int) -> tuple[bytes, bool]:
    """The bytes of ``name`` in the directory open as ``parent``, and whether anyone may
    execute it; errors name ``file``."""
    fd = _open_at(parent, name, _FILE, file)
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
