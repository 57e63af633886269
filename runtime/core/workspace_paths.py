"""Resolving a path inside a session's workspace without ever leaving it.

The sandbox owns the workspace: a command may plant a symbolic link anywhere in it, absolute or
relative, or swap a directory for a link while the daemon works (Judge0's CVE-2024-28185 was an
escape of exactly this kind). So a path is never handed to the kernel whole. It is walked one
component at a time from the workspace's directory descriptor with O_NOFOLLOW; a link is
resolved here, and only when its target stays inside; ``..`` climbs the directories the walk
itself holds open, never the file system's; and the caller acts on the last component through the
descriptor of the directory that holds it, so a swap after the walk cannot redirect it.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from runtime.errors import (
    BadRequest,
    NoSuchEntity,
    NotAllowed,
    OverLimit,
    SkillRuntimeError,
    WrongState,
)

__all__ = ["DIR_FLAGS", "PATH_MAX", "WORKDIR", "Location", "Walker", "os_error"]

WORKDIR = "/workspace"  # where commands in the sandbox see the workspace
# Linux's limits: no command in the sandbox can name a longer path or component in one call.
PATH_MAX = 4096
_NAME_MAX = 255
_MAX_LINKS = 40  # Linux's MAXSYMLINKS; also bounds how often a walk looks again at a name that
# the sandbox changed meanwhile
_WORKDIR_NAME = WORKDIR.lstrip("/")
_NEW_DIR_MODE = 0o755
DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC

_ERRNO: dict[int, tuple[type[SkillRuntimeError], str]] = {
    errno.ENOENT: (NoSuchEntity, "{label}: no such file or directory"),
    errno.EEXIST: (WrongState, "{label}: already exists"),
    errno.ENOTEMPTY: (WrongState, "{label}: directory not empty"),
    errno.EISDIR: (WrongState, "{label}: is a directory"),
    errno.ENOTDIR: (WrongState, "{label}: not a directory"),
    errno.ENXIO: (WrongState, "{label}: not a regular file"),
    errno.EXDEV: (WrongState, "{label}: on another file system"),
    errno.ELOOP: (NotAllowed, "{label}: a symbolic link appeared on the way; not followed"),
    errno.EACCES: (NotAllowed, "{label}: permission denied"),
    errno.EPERM: (NotAllowed, "{label}: operation not permitted"),
    errno.EINVAL: (BadRequest, "{label}: invalid argument"),
    errno.ENAMETOOLONG: (BadRequest, "{label}: name too long"),
    errno.ENOSPC: (OverLimit, "workspace quota exceeded ({label})"),
    errno.EDQUOT: (OverLimit, "workspace quota exceeded ({label})"),
    # A command holds the file (a lease, a running program): busy now, not broken.
    errno.EAGAIN: (WrongState, "{label}: busy (a command holds it); try again"),
    errno.ETXTBSY: (WrongState, "{label}: busy (a running program); try again"),
    errno.EBUSY: (WrongState, "{label}: busy; try again"),
}


def os_error(exc: OSError, label: str) -> SkillRuntimeError | OSError:
    """The skillrt error for ``exc`` met while working on ``label`` (the paths, quoted); an
    errno the table does not know stays the OSError it is (an internal error)."""
    known = _ERRNO.get(exc.errno or 0)
    if known is None:
        return exc
    kind, message = known
    return kind(message.format(label=label))


@dataclass(frozen=True, kw_only=True)
class Location:
    """Where a walk ended: the last component, and the directory that holds it."""

    dir_fd: int  # open until the walk's context ends
    name: str | None  # None: the workspace itself, and ``dir_fd`` is the workspace
    path: str  # relative to the workspace ("" for the workspace itself), links resolved


class Walker:
    """Walks paths inside one workspace directory; directories it creates go to uid/gid."""

    def __init__(self, root: Path, *, uid: int, gid: int) -> None:
        self.root = root
        self.uid = uid
        self.gid = gid

    @contextlib.contextmanager
    def locate(
        self, path: str, *, follow_last: bool, make_parents: bool = False
    ) -> Iterator[Location]:
        """Resolve ``path``; its last component is followed only if ``follow_last`` (and need not
        exist); missing directories on the way are created if ``make_parents``."""
        walk = _Walk(self, path)
        try:
            yield walk.run(follow_last=follow_last, make_parents=make_parents)
        finally:
            walk.close()

    def make_directory(self, dir_fd: int, name: str) -> int:
        """A descriptor on a new directory ``name`` in ``dir_fd``, already the sandbox user's;
        FileExistsError if the name is taken."""
        os.mkdir(name, 0o700, dir_fd=dir_fd)  # nobody else may enter it until it is adopted
        fd = os.open(name, DIR_FLAGS, dir_fd=dir_fd)
        try:
            self.adopt(fd, _NEW_DIR_MODE)
        except BaseException:
            os.close(fd)
            raise
        return fd

    def adopt(self, fd: int, mode: int) -> None:
        """Give a file or directory the daemon created to the sandbox user, with ``mode``."""
        os.fchown(fd, self.uid, self.gid)
        os.fchmod(fd, mode)


def _components(path: str, label: str) -> list[str]:
    """The components of a path as a caller gave it, relative to the workspace."""
    if "\x00" in path:
        raise BadRequest(f"{label}: contains a NUL byte")
    if len(os.fsencode(path)) >= PATH_MAX:
        raise BadRequest(f"path of {len(os.fsencode(path))} bytes: longer than {PATH_MAX - 1}")
    parts = _split(path)
    if path.startswith("/"):
        if parts[:1] != [_WORKDIR_NAME]:
            raise NotAllowed(f"{label}: outside the workspace ({WORKDIR})")
        parts = parts[1:]
    if any(len(os.fsencode(part)) > _NAME_MAX for part in parts):
        raise BadRequest(f"{label}: a component is longer than {_NAME_MAX} bytes")
    return parts


def _split(path: str) -> list[str]:
    return [part for part in path.split("/") if part not in ("", ".")]


class _Walk:
    """One walk: the chain of directories entered so far, each held open by descriptor."""

    def __init__(self, walker: Walker, path: str) -> None:
        self.walker = walker
        self.label = repr(path)
        self.parts = _components(path, self.label)
        self.root_fd = _open_root(walker.root)
        self.stack: list[tuple[str, int]] = []
        self.links = 0
        self.retries = 0
        self.via = ""  # the last link followed, to name it when the path then leaves

    def close(self) -> None:
        for _, fd in self.stack:
            os.close(fd)
        self.stack.clear()
        os.close(self.root_fd)

    @property
    def cur(self) -> int:
        return self.stack[-1][1] if self.stack else self.root_fd

    def run(self, *, follow_last: bool, make_parents: bool) -> Location:
        pending = deque(self.parts)
        while pending:
            name = pending.popleft()
            if name == "..":
                self._up()
                continue
            last = not pending
            if last and not follow_last:
                return self._at(name)
            target = self._link_target(name)
            if target is not None:
                pending.extendleft(reversed(self._follow(name, target)))
            elif last:
                return self._at(name)
            elif not self._enter(name, make_parents=make_parents):
                pending.appendleft(name)
        return self._here()

    def _relative(self, name: str | None = None) -> str:
        names = [entered for entered, _ in self.stack]
        return "/".join(names if name is None else [*names, name])

    def _at(self, name: str) -> Location:
        return Location(dir_fd=self.cur, name=name, path=self._relative(name))

    def _here(self) -> Location:
        """The walk ended on a directory it entered (after ``..``, or an empty path)."""
        if not self.stack:
            return Location(dir_fd=self.root_fd, name=None, path="")
        name, fd = self.stack.pop()
        os.close(fd)
        return self._at(name)

    def _up(self) -> None:
        if not self.stack:
            through = f" through symbolic link {self.via}" if self.via else ""
            raise NotAllowed(f"{self.label}: leaves the workspace{through}")
        os.close(self.stack.pop()[1])

    def _spend(self) -> None:
        self.links += 1
        if self.links > _MAX_LINKS:
            raise NotAllowed(f"{self.label}: more than {_MAX_LINKS} symbolic links on the way")

    def _again(self) -> bool:
        """Note that a name changed while being looked at, so it must be looked at again."""
        self.retries += 1
        if self.retries > _MAX_LINKS:
            raise WrongState(f"{self.label}: kept changing while being looked up; try again")
        return False

    def _link_target(self, name: str) -> str | None:
        try:
            st = os.stat(name, dir_fd=self.cur, follow_symlinks=False)
        except FileNotFoundError:
            return None
        if not stat.S_ISLNK(st.st_mode):
            return None
        try:
            return os.readlink(name, dir_fd=self.cur)
        except OSError:
            return None  # no longer a link: entering it says what it is now

    def _follow(self, name: str, target: str) -> list[str]:
        """The components that replace the link ``name``; an absolute target restarts at the
        workspace, and only a target under /workspace may."""
        self._spend()
        self.via = f"{self._relative(name)!r} -> {target!r}"
        parts = _split(target)
        if not target.startswith("/"):
            return parts
        if parts[:1] != [_WORKDIR_NAME]:
            raise NotAllowed(f"{self.label}: symbolic link {self.via} leaves the workspace")
        while self.stack:
            os.close(self.stack.pop()[1])
        return parts[1:]

    def _enter(self, name: str, *, make_parents: bool) -> bool:
        """Enter the directory ``name`` (made first if missing and ``make_parents``); False if
        it changed meanwhile and must be looked at again."""
        if len(os.fsencode(self._relative(name))) >= PATH_MAX:
            raise BadRequest(f"{self.label}: resolves to a path longer than {PATH_MAX - 1} bytes")
        try:
            fd = os.open(name, DIR_FLAGS, dir_fd=self.cur)
        except FileNotFoundError:
            if not make_parents:
                raise NoSuchEntity(
                    f"{self.label}: no such directory {self._relative(name)!r}"
                ) from None
            made = self._make(name)
            if made is None:
                return self._again()
            fd = made
        except OSError as exc:
            if exc.errno not in (errno.ENOTDIR, errno.ELOOP):
                raise
            if self._is_plain(name):
                raise WrongState(
                    f"{self.label}: {self._relative(name)!r} is not a directory"
                ) from None
            return self._again()  # became a link or a directory since it was looked at
        self.stack.append((name, fd))
        return True

    def _is_plain(self, name: str) -> bool:
        """Whether ``name`` is there and neither a directory nor a link: nothing to enter."""
        try:
            mode = os.stat(name, dir_fd=self.cur, follow_symlinks=False).st_mode
        except FileNotFoundError:
            return False
        return not (stat.S_ISDIR(mode) or stat.S_ISLNK(mode))

    def _make(self, name: str) -> int | None:
        """A descriptor on the new directory ``name``; None if a name appeared meanwhile."""
        try:
            return self.walker.make_directory(self.cur, name)
        except FileExistsError:
            return None


def _open_root(root: Path) -> int:
    try:
        return os.open(root, DIR_FLAGS)
    except FileNotFoundError:
        raise WrongState("the session's workspace is gone") from None
