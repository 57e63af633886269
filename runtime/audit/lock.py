"""The writers' lock of one audit log, held by appends and prunes alike."""

from __future__ import annotations

import fcntl
import os
import threading
from pathlib import Path

__all__ = ["ProcessLock"]


class ProcessLock:
    """Serializes writers of one log: a thread lock, then ``flock`` on a lock file beside it.

    The lock file is never replaced, unlike the log, so a prune and an append in two processes
    always lock the same inode.
    """

    def __init__(self, log: Path) -> None:
        self._path = log.with_name(log.name + ".lock")
        self._thread = threading.Lock()
        self._fd = -1

    def __enter__(self) -> None:
        self._thread.acquire()
        try:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self._path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
            except BaseException:
                os.close(fd)
                raise
            self._fd = fd
        except BaseException:
            self._thread.release()
            raise

    def __exit__(self, *exc: object) -> None:
        os.close(self._fd)  # closing the last descriptor releases the flock
        self._fd = -1
        self._thread.release()
