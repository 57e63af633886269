"""A session's workspace: a size-capped filesystem of its own, bound into each of its sandboxes.

Each workspace is a tmpfs mounted at ``<root>/<name>``, so its size is a hard quota the kernel
enforces (ENOSPC inside the sandbox), and removing it frees everything at once. It holds the
session's ``workspace/`` (bound read-write at /workspace) and ``tmp/`` (at /tmp), both owned by
the sandbox user, and an ``etc/`` with the account files that name that user, bound read-only.

Mounts outlive the daemon: ``remove_stale`` clears what a crashed daemon left under its root.
All of this is blocking system calls; an asyncio caller runs it in a thread.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import functools
import grp
import os
import pwd
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from runtime.errors import BadRequest, IsolationUnavailable, SandboxError, WrongState
from runtime.sandbox.filesystem import Bind
from runtime.sandbox.nsjail import SANDBOX_GID, SANDBOX_UID
from runtime.sandbox.reach import check_reachable
from runtime.sandbox.session_policy import TMP_MOUNT, WORKSPACE_MOUNT

__all__ = ["Workspace", "prepare_root", "remove_stale"]

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
# <linux/mount.h>
_MS_NOSUID = 0x2
_MS_NODEV = 0x4
_MNT_DETACH = 0x2
_PAGE = os.sysconf("SC_PAGE_SIZE")
_ROOT_MODE = 0o711  # the sandbox user passes through to its binds; nobody else can list them
_ACCOUNT_FILES = ("passwd", "group")


@dataclass(frozen=True, kw_only=True)
class Workspace:
    """One mounted workspace; ``remove`` unmounts and deletes it."""

    path: Path
    workspace_dir: Path
    tmp_dir: Path
    size_bytes: int

    @classmethod
    def create(cls, root: Path, name: str, size_bytes: int, *, uid: int, gid: int) -> Workspace:
        """Mount a fresh workspace of ``size_bytes`` at ``root/name`` owned by the session's host
        ``uid``:``gid``; ``root`` is a directory made by ``prepare_root``."""
        if not _NAME.match(name):
            raise BadRequest(f"workspace name {name!r} must match {_NAME.pattern}")
        if size_bytes < _PAGE:
            raise BadRequest(f"workspace size {size_bytes} is less than a page ({_PAGE} bytes)")
        path = Path(os.path.realpath(root)) / name
        try:
            path.mkdir(mode=0o700)
        except FileExistsError as exc:
            raise WrongState(f"workspace {path} exists already") from exc
        except OSError as exc:
            raise SandboxError(f"cannot create workspace {path}: {exc.strerror}") from exc
        # Empty files use no pages, so only an inode count bounds what they cost the kernel; one
        # inode per page of quota allows a file per page, more than any real tree needs.
        inodes = size_bytes // _PAGE
        options = f"size={size_bytes},nr_inodes={inodes},mode=0700,uid={uid},gid={gid}"
        try:
            _mount_tmpfs(path, options)
        except BaseException:
            path.rmdir()
            raise
        workspace = cls(
            path=path, workspace_dir=path / "workspace", tmp_dir=path / "tmp", size_bytes=size_bytes
        )
        try:
            workspace._populate(uid, gid)
        except BaseException:
            workspace.remove()
            raise
        return workspace

    def binds(self) -> tuple[Bind, ...]:
        """What a sandbox of the session mounts: /workspace and /tmp read-write, and the
        account files read-only, so that the sandbox user has a name (``stat -c %U``, git)."""
        etc = self.path / "etc"
        return (
            Bind(source=str(self.workspace_dir), target=WORKSPACE_MOUNT, writable=True),
            Bind(source=str(self.tmp_dir), target=TMP_MOUNT, writable=True),
            *(Bind(source=str(etc / name), target=f"/etc/{name}") for name in _ACCOUNT_FILES),
        )

    def usage_bytes(self) -> int:
        """Bytes in use on the workspace's filesystem (its /workspace and /tmp together)."""
        stats = os.statvfs(self.path)
        return (stats.f_blocks - stats.f_bfree) * stats.f_frsize

    def remove(self) -> None:
        """Unmount (lazily if a process still uses it) and delete; nothing left is no error."""
        _unmount(self.path)
        with contextlib.suppress(FileNotFoundError):
            self.path.rmdir()

    def _populate(self, uid: int, gid: int) -> None:
        for directory, mode in ((self.workspace_dir, 0o755), (self.tmp_dir, 0o1777)):
            directory.mkdir()
            os.chown(directory, uid, gid)
            directory.chmod(mode)  # after mkdir: the umask would drop bits, mkdir the sticky one
        etc = self.path / "etc"
        etc.mkdir()
        etc.chmod(0o755)
        # Inside the jail the files' owner (the session's host uid) is the jail's own user.
        user = _host_name(lambda: pwd.getpwuid(SANDBOX_UID).pw_name)
        group = _host_name(lambda: grp.getgrgid(SANDBOX_GID).gr_name)
        accounts = {
            "passwd": f"{user}:x:{SANDBOX_UID}:{SANDBOX_GID}:{user}:{TMP_MOUNT}:/bin/sh\n",
            "group": f"{group}:x:{SANDBOX_GID}:\n",
        }
        for name in _ACCOUNT_FILES:
            (etc / name).write_text(accounts[name])
            (etc / name).chmod(0o644)


def prepare_root(root: Path) -> None:
    """Make ``root`` the directory workspaces are mounted in: owned by root, mode 0711, and
    reachable by the sandbox user all the way down, as the launcher checks for every bind."""
    missing = [p for p in (root, *root.parents) if not p.exists()]
    for directory in reversed(missing):  # made here: traversable, not listable, whatever the umask
        directory.mkdir(mode=_ROOT_MODE, exist_ok=True)
        directory.chmod(_ROOT_MODE)
    info = root.stat()
    if info.st_uid != 0:
        raise IsolationUnavailable(
            f"workspace root {root} must be owned by root, not {info.st_uid}"
        )
    root.chmod(_ROOT_MODE)
    check_reachable(str(root), what="workspace root")


def remove_stale(root: Path) -> list[str]:
    """Unmount and delete every workspace under ``root`` (left by a daemon that did not stop
    cleanly); the names removed. Only for a root no workspace is being created in meanwhile."""
    real = os.path.realpath(root)
    if not os.path.isdir(real):
        return []
    for point in sorted(_mounts_under(real), key=len, reverse=True):  # the deepest first
        _unmount(Path(point))
    removed = []
    for entry in sorted(os.listdir(real)):
        path = Path(real, entry)
        try:
            path.rmdir()
        except OSError as exc:
            # Workspaces hold their files on their own mount; anything else is not ours to delete.
            raise SandboxError(
                f"cannot remove {path} from the workspace root: {exc.strerror}"
            ) from exc
        removed.append(entry)
    return removed


def _host_name(lookup: Callable[[], str]) -> str:
    """The host's name for the sandbox user or group, so that the sandbox shows the same."""
    try:
        return lookup()
    except KeyError:
        return "sandbox"


@functools.cache
def _libc() -> ctypes.CDLL:
    libc = ctypes.CDLL(None, use_errno=True)
    text = ctypes.c_char_p
    libc.mount.argtypes = [text, text, text, ctypes.c_ulong, text]
    libc.umount2.argtypes = [text, ctypes.c_int]
    return libc


def _mount_tmpfs(path: Path, options: str) -> None:
    flags = _MS_NOSUID | _MS_NODEV
    if _libc().mount(b"tmpfs", os.fsencode(path), b"tmpfs", flags, options.encode()) != 0:
        code = ctypes.get_errno()
        raise IsolationUnavailable(
            f"cannot mount a tmpfs for workspace {path}: {os.strerror(code)}"
            + (" (workspaces need the daemon to run as root)" if code == errno.EPERM else "")
        )


def _unmount(path: Path) -> None:
    """Unmount every mount stacked at ``path``; lazily when one is busy."""
    target = os.fsencode(path)
    while str(path) in _mount_points():
        if _libc().umount2(target, 0) == 0:
            continue
        code = ctypes.get_errno()
        if code == errno.EBUSY:
            if _libc().umount2(target, _MNT_DETACH) == 0:
                continue
            code = ctypes.get_errno()
        raise SandboxError(f"cannot unmount workspace {path}: {os.strerror(code)}")


def _mounts_under(root: str) -> list[str]:
    return [point for point in _mount_points() if point.startswith(root.rstrip("/") + "/")]


def _mount_points() -> list[str]:
    """Mount points of this mount namespace, as /proc/self/mountinfo spells them (unescaped)."""
    with open("/proc/self/mountinfo", encoding="utf-8", errors="surrogateescape") as file:
        fields = [line.split(" ") for line in file]
    return [_unescape(parts[4]) for parts in fields if len(parts) > 4]


def _unescape(field: str) -> str:
    # The kernel writes space, tab, newline and backslash in paths as octal escapes.
    return re.sub(r"\\([0-7]{3})", lambda match: chr(int(match[1], 8)), field)
