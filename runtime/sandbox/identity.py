"""Host identities: each running sandbox (or session) is a host uid and gid of its own.

The kernel charges a user namespace's per-user counts (inotify instances and watches, queued
signals, namespaces) to the uid that owns it, in the parent namespace. nsjail therefore runs as
the sandbox's own host uid, not as root: what one sandbox exhausts is its own quota, never root's
or another sandbox's. The uid also names the sandbox in the kernel's records (seccomp kills).

A uid is held by an exclusive ``flock`` on a file named after it, so every daemon and CLI on the
host draws from the same range without two holding one uid; the kernel drops the lock when its
holder dies, so a crash leaks nothing. Every nsjail running as the uid holds the lock too (the
launcher passes it on, see ``lock_fd``): should the daemon or CLI that acquired it die, the uid
stays held for as long as anything runs as it.
"""

from __future__ import annotations

import fcntl
import os
import pwd
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from runtime.errors import ConfigError, IsolationUnavailable, OverLimit

__all__ = ["DEFAULT_UIDS", "HostIdentity", "IdentityPool", "UidRange", "parse_uid_range"]

_LOCK_DIR = Path("/run/skillrt-uids")
_RANGE = re.compile(r"^(\d+)-(\d+)$")
# The highest uid the kernel maps (uid_map refuses 2^32-1) and the lowest no account of a usual
# system has: the range must lie between them.
_MAX_UID = 2**32 - 2
_MIN_UID = 65536


@dataclass(frozen=True, kw_only=True)
class UidRange:
    """Host uids ``first`` .. ``first + count - 1``; each is also used as its gid."""

    first: int
    count: int

    @property
    def last(self) -> int:
        return self.first + self.count - 1


DEFAULT_UIDS = UidRange(first=1_900_000_000, count=65536)


def parse_uid_range(text: str, *, key: str) -> UidRange:
    """``"first-last"`` as a range; anything else is a ConfigError naming ``key``."""
    match = _RANGE.match(text.strip())
    if not match:
        raise ConfigError(f"{key}: {text!r} must be two uids as 'first-last'")
    first, last = int(match[1]), int(match[2])
    if not _MIN_UID <= first <= last <= _MAX_UID:
        raise ConfigError(f"{key}: {text!r} must lie within {_MIN_UID}-{_MAX_UID}, first <= last")
    return UidRange(first=first, count=last - first + 1)


class HostIdentity:
    """One held host uid and gid; ``release`` gives it back (only once nothing runs as it)."""

    def __init__(self, uid: int, lock_fd: int) -> None:
        self.uid = uid
        self.gid = uid
        self._lock_fd: int | None = lock_fd

    @property
    def lock_fd(self) -> int:
        """The descriptor holding the lock, for a process that must hold the uid as long as it
        lives; any copy of it keeps the lock."""
        if self._lock_fd is None:
            raise ValueError(f"{self!r} was released")
        return self._lock_fd

    def release(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def __repr__(self) -> str:
        return f"HostIdentity(uid={self.uid})"


class IdentityPool:
    """Hands out host uids of ``uids`` that no other holder on the host has."""

    def __init__(self, uids: UidRange = DEFAULT_UIDS, *, lock_dir: Path = _LOCK_DIR) -> None:
        self.uids = uids
        self._lock_dir = lock_dir
        self._checked = False

    def acquire(self) -> HostIdentity:
        """A uid of the range held by no one else; OverLimit when all are held."""
        self._check_once()
        start = secrets.randbelow(self.uids.count)
        for step in range(self.uids.count):
            uid = self.uids.first + (start + step) % self.uids.count
            held = self._try_hold(uid)
            if held is not None:
                return held
        raise OverLimit(
            f"every sandbox uid ({self.uids.first}-{self.uids.last}) is in use: "
            "widen [sandboxes] host_uids"
        )

    def _try_hold(self, uid: int) -> HostIdentity | None:
        fd = os.open(self._lock_dir / str(uid), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        except BaseException:
            os.close(fd)
            raise
        return HostIdentity(uid, fd)

    def _check_once(self) -> None:
        """The lock directory is root's alone, and no account of the host lies in the range: a
        sandbox running as a real user's uid could signal, trace or read that user's files."""
        if self._checked:
            return
        try:
            self._lock_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            info = self._lock_dir.stat()
        except OSError as exc:
            raise IsolationUnavailable(
                f"cannot prepare the sandbox uid locks in {self._lock_dir}: {exc.strerror}"
            ) from exc
        if info.st_uid != os.geteuid() or info.st_mode & 0o077:
            raise IsolationUnavailable(
                f"{self._lock_dir} must belong to uid {os.geteuid()} with mode 0700"
            )
        for account in pwd.getpwall():
            if self.uids.first <= account.pw_uid <= self.uids.last:
                raise IsolationUnavailable(
                    f"sandbox uids {self.uids.first}-{self.uids.last} include the account "
                    f"{account.pw_name} ({account.pw_uid}): choose another [sandboxes] host_uids"
                )
        self._checked = True
