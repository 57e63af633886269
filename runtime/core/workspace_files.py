"""File operations on one session's workspace, from the host, for clients with no tools inside.

Every path goes through ``Walker`` (nothing outside the workspace is ever reached), and every
operation acts through descriptors on what the walk found. Only regular files are read or
written, opened without blocking, so a FIFO or device planted by a command cannot stall the
daemon. What the daemon creates belongs to the sandbox user, so later commands can change it.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from runtime.core.workspace_paths import DIR_FLAGS, Location, Walker, os_error
from runtime.core.workspace_tree import remove_tree
from runtime.errors import BadRequest, NoSuchEntity, NotAllowed, OverLimit, WrongState
from runtime.util.noreplace import rename_noreplace

__all__ = ["FileInfo", "FileType", "WorkspaceFiles"]

_NEW_FILE_MODE = 0o644
_PERMISSIONS = 0o777  # setuid, setgid and sticky bits are never set by the daemon
_FILE_FLAGS = os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
_ENTRY_BYTES = 64  # a listed entry's share of a response beyond its path and link target


class FileType(StrEnum):
    FILE = "file"
    DIRECTORY = "directory"
    SYMLINK = "symlink"
    OTHER = "other"


@dataclass(frozen=True, kw_only=True)
class FileInfo:
    path: str  # relative to the workspace, "" for the workspace itself
    type: FileType
    size: int
    mode: int  # permission bits
    modified_ms: int
    link_target: str | None = None  # for symbolic links, as the link says


class WorkspaceFiles:
    """The files of one workspace directory, whose contents belong to uid/gid."""

    def __init__(
        self, root: Path, *, uid: int, gid: int, max_read_bytes: int, max_write_bytes: int
    ) -> None:
        self.root = root
        self.max_read_bytes = max_read_bytes
        self.max_write_bytes = max_write_bytes
        self._walker = Walker(root, uid=uid, gid=gid)

    def read(self, path: str, offset: int = 0, length: int = 0) -> tuple[FileInfo, bytes, bool]:
        """Up to ``length`` bytes (0: the most a read may return) from ``offset``, a link at the
        end followed (the info names the file read); the flag says more follow."""
        if offset < 0 or length < 0:
            raise BadRequest(f"{path!r}: offset and length may not be negative")
        if length > self.max_read_bytes:
            raise BadRequest(f"{path!r}: a read returns at most {self.max_read_bytes} bytes")
        with _translated(repr(path)), self._walker.locate(path, follow_last=True) as at:
            fd = _open_regular(at, path, os.O_RDONLY)
            try:
                st = os.fstat(fd)
                wanted = min(length or self.max_read_bytes, max(st.st_size - offset, 0))
                data = _pread(fd, wanted, offset)
            finally:
                os.close(fd)
        return _info(at.path, st), data, offset + len(data) < st.st_size

    def write(
        self,
        path: str,
        data: bytes,
        *,
        append: bool = False,
        create_parents: bool = False,
        exclusive: bool = False,
        mode: int | None = None,
    ) -> FileInfo:
        """Write ``data`` to a regular file: appended, or replacing the file as one step, so a
        reader sees the old or the new content; ``mode`` is for a new file (default 0644)."""
        if len(data) > self.max_write_bytes:
            raise BadRequest(f"{path!r}: a write carries at most {self.max_write_bytes} bytes")
        perms = _NEW_FILE_MODE if mode is None else mode & _PERMISSIONS
        # An append follows a link at the end as `>>` does; a replacement replaces the link.
        with (
            _translated(repr(path)),
            self._walker.locate(path, follow_last=append, make_parents=create_parents) as at,
        ):
            if at.name is None:
                raise WrongState(f"{path!r}: is a directory")
            if append:
                return self._append(at, path, data, exclusive=exclusive, perms=perms)
            return self._replace(at, path, data, exclusive=exclusive, perms=perms)

    def stat(self, path: str) -> FileInfo:
        """What ``path`` is; a symbolic link at the end is described, not followed."""
        with _translated(repr(path)), self._walker.locate(path, follow_last=False) as at:
            if at.name is None:
                return _info(at.path, os.fstat(at.dir_fd))
            return _describe(at.dir_fd, at.name, at.path)

    def list_dir(self, path: str = "") -> list[FileInfo]:
        """The entries of a directory, by name; links among them are described, not followed."""
        with _translated(repr(path)), self._walker.locate(path, follow_last=True) as at:
            if at.name is None:
                return self._entries(at.dir_fd, at.path, path)
            fd = os.open(at.name, DIR_FLAGS, dir_fd=at.dir_fd)
            try:
                return self._entries(fd, at.path, path)
            finally:
                os.close(fd)

    def make_dir(self, path: str, *, parents: bool = False) -> FileInfo:
        """A new directory; with ``parents``, also the missing ones above it, and an existing
        directory is no error (as ``mkdir -p``)."""
        with (
            _translated(repr(path)),
            self._walker.locate(path, follow_last=parents, make_parents=parents) as at,
        ):
            if at.name is None:
                if parents:
                    return _info(at.path, os.fstat(at.dir_fd))
                raise WrongState(f"{path!r}: already exists")
            try:
                fd = self._walker.make_directory(at.dir_fd, at.name)
            except FileExistsError:
                if not parents:
                    raise
                fd = os.open(at.name, DIR_FLAGS, dir_fd=at.dir_fd)
            try:
                return _info(at.path, os.fstat(fd))
            finally:
                os.close(fd)

    def remove(self, path: str, *, recursive: bool = False, missing_ok: bool = False) -> None:
        """Remove a file, a link (never what it points to) or an empty directory; with
        ``recursive`` a directory and everything under it."""
        try:
            with _translated(repr(path)), self._walker.locate(path, follow_last=False) as at:
                if at.name is None:
                    raise NotAllowed(f"{path!r}: the workspace itself cannot be removed")
                st = os.stat(at.name, dir_fd=at.dir_fd, follow_symlinks=False)
                if not stat.S_ISDIR(st.st_mode):
                    os.unlink(at.name, dir_fd=at.dir_fd)
                elif recursive:
                    remove_tree(at, path)
                else:
                    os.rmdir(at.name, dir_fd=at.dir_fd)
        except NoSuchEntity:
            if not missing_ok:
                raise

    def rename(self, src: str, dst: str, *, overwrite: bool = False) -> FileInfo:
        """Move ``src`` (a link itself, never what it points to) to ``dst``; an existing ``dst``
        is replaced only with ``overwrite``."""
        with (
            _translated(f"{src!r} -> {dst!r}"),
            self._walker.locate(src, follow_last=False) as old,
            self._walker.locate(dst, follow_last=False) as new,
        ):
            if old.name is None or new.name is None:
                raise NotAllowed(f"{src!r} -> {dst!r}: the workspace itself cannot be moved")
            os.stat(old.name, dir_fd=old.dir_fd, follow_symlinks=False)  # a missing src first
            try:
                if overwrite:
                    os.rename(old.name, new.name, src_dir_fd=old.dir_fd, dst_dir_fd=new.dir_fd)
                else:
                    rename_noreplace(
                        old.name, new.name, src_dir_fd=old.dir_fd, dst_dir_fd=new.dir_fd
                    )
            except FileExistsError:
                raise WrongState(f"{dst!r}: already exists") from None
            return _describe(new.dir_fd, new.name, new.path)

    def _append(
        self, at: Location, path: str, data: bytes, *, exclusive: bool, perms: int
    ) -> FileInfo:
        assert at.name is not None
        try:
            fd = os.open(
                at.name,
                os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_EXCL | _FILE_FLAGS,
                0o600,
                dir_fd=at.dir_fd,
            )
        except FileExistsError:
            if exclusive:
                raise
            fd = _open_regular(at, path, os.O_WRONLY | os.O_APPEND)
        else:
            self._walker.adopt(fd, perms)
        try:
            _write_all(fd, data)
            return _info(at.path, os.fstat(fd))
        finally:
            os.close(fd)

    def _replace(
        self, at: Location, path: str, data: bytes, *, exclusive: bool, perms: int
    ) -> FileInfo:
        """Write a temporary file beside the target and rename it over the target, whatever
        the target was (a link is replaced, not followed)."""
        assert at.name is not None
        perms = _kept_mode(at, path, exclusive=exclusive, perms=perms)
        temporary = f".skillrt-{secrets.token_hex(8)}.tmp"
        fd = os.open(
            temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _FILE_FLAGS, 0o600, dir_fd=at.dir_fd
        )
        placed = False
        try:
            # No fsync: the workspace lives no longer than the host's memory (a tmpfs), and the
            # rename alone decides what a reader sees.
            _write_all(fd, data)
            self._walker.adopt(fd, perms)
            written = os.fstat(fd)
            if exclusive:
                rename_noreplace(temporary, at.name, src_dir_fd=at.dir_fd, dst_dir_fd=at.dir_fd)
            else:
                os.rename(temporary, at.name, src_dir_fd=at.dir_fd, dst_dir_fd=at.dir_fd)
            placed = True
        finally:
            os.close(fd)
            if not placed:
                with contextlib.suppress(OSError):
                    os.unlink(temporary, dir_fd=at.dir_fd)
        return _info(at.path, written)

    def _entries(self, fd: int, directory: str, path: str) -> list[FileInfo]:
        entries: list[FileInfo] = []
        budget = self.max_read_bytes
        with os.scandir(fd) as scan:
            for entry in scan:
                relative = f"{directory}/{entry.name}" if directory else entry.name
                try:
                    info = _describe(fd, entry.name, relative)
                except FileNotFoundError:
                    continue  # removed meanwhile
                budget -= len(os.fsencode(relative)) + len(info.link_target or "") + _ENTRY_BYTES
                if budget < 0:
                    raise OverLimit(
                        f"{path!r}: too many entries to list in {self.max_read_bytes} bytes"
                    )
                entries.append(info)
        return sorted(entries, key=lambda info: info.path)


@contextlib.contextmanager
def _translated(label: str) -> Iterator[None]:
    try:
        yield
    except OSError as exc:
        raise os_error(exc, label) from exc


def _info(path: str, st: os.stat_result, link_target: str | None = None) -> FileInfo:
    return FileInfo(
        path=path,
        type=_type(st.st_mode),
        size=st.st_size,
        mode=stat.S_IMODE(st.st_mode),
        modified_ms=st.st_mtime_ns // 1_000_000,
        link_target=link_target,
    )


def _type(mode: int) -> FileType:
    if stat.S_ISREG(mode):
        return FileType.FILE
    if stat.S_ISDIR(mode):
        return FileType.DIRECTORY
    if stat.S_ISLNK(mode):
        return FileType.SYMLINK
    return FileType.OTHER


def _describe(dir_fd: int, name: str, path: str) -> FileInfo:
    st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    target = os.readlink(name, dir_fd=dir_fd) if stat.S_ISLNK(st.st_mode) else None
    return _info(path, st, target)


def _kept_mode(at: Location, path: str, *, exclusive: bool, perms: int) -> int:
    """The mode a replacement gets: an existing file's, so an edit keeps a script runnable."""
    assert at.name is not None
    try:
        existing = os.stat(at.name, dir_fd=at.dir_fd, follow_symlinks=False).st_mode
    except FileNotFoundError:
        return perms
    if exclusive:
        raise WrongState(f"{path!r}: already exists")
    if stat.S_ISDIR(existing):
        raise WrongState(f"{path!r}: is a directory")
    if stat.S_ISLNK(existing):
        return perms
    _require_regular(existing, path)
    return stat.S_IMODE(existing) & _PERMISSIONS


def _open_regular(at: Location, path: str, flags: int) -> int:
    """A descriptor on the regular file at ``at``, refusing anything else before opening it
    where possible, and after opening it always (the sandbox may swap names meanwhile)."""
    if at.name is None:
        raise WrongState(f"{path!r}: is a directory")
    _require_regular(os.stat(at.name, dir_fd=at.dir_fd, follow_symlinks=False).st_mode, path)
    fd = os.open(at.name, flags | _FILE_FLAGS, dir_fd=at.dir_fd)
    try:
        _require_regular(os.fstat(fd).st_mode, path)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _require_regular(mode: int, path: str) -> None:
    if stat.S_ISDIR(mode):
        raise WrongState(f"{path!r}: is a directory")
    if stat.S_ISLNK(mode):
        raise NotAllowed(f"{path!r}: a symbolic link appeared on the way; not followed")
    if not stat.S_ISREG(mode):
        raise WrongState(f"{path!r}: not a regular file (a FIFO, socket or device)")


def _pread(fd: int, length: int, offset: int) -> bytes:
    chunks: list[bytes] = []
    while length > 0:
        chunk = os.pread(fd, length, offset)
        if not chunk:
            break
        chunks.append(chunk)
        length -= len(chunk)
        offset += len(chunk)
    return b"".join(chunks)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
