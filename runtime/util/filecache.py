"""Parsed files kept while the files on disk stay the same.

Skills and profiles are read on every invocation; parsing and hashing them each time costs
milliseconds on the hot path. A cached value is reused only while every file it came from has
the same inode, size, mtime and ctime (ctime cannot be set back by a user), so an edited skill
or profile is always read again.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Generic, TypeVar

__all__ = ["FileCache", "Fingerprint", "fingerprint"]

T = TypeVar("T")
Fingerprint = tuple[tuple[str, int, int, int, int], ...]


def fingerprint(files: Iterable[Path]) -> Fingerprint:
    prints = []
    for file in sorted(files):
        status = os.stat(file)
        prints.append(
            (str(file), status.st_ino, status.st_size, status.st_mtime_ns, status.st_ctime_ns)
        )
    return tuple(prints)


class FileCache(Generic[T]):
    def __init__(self) -> None:
        self._entries: dict[Path, tuple[Fingerprint, T]] = {}

    def get(self, key: Path, files: Iterable[Path], load: Callable[[], T]) -> T:
        """The value for ``key``, loaded again whenever one of ``files`` changed."""
        current = fingerprint(files)
        cached = self._entries.pop(key, None)  # a load that fails leaves nothing behind
        if cached is not None and cached[0] == current:
            self._entries[key] = cached
            return cached[1]
        value = load()
        self._entries[key] = (current, value)
        return value

    def retain(self, keys: Iterable[Path]) -> None:
        """Forget every value but those of ``keys`` (a folder gone, or of another kind now)."""
        kept = set(keys)
        self._entries = {key: entry for key, entry in self._entries.items() if key in kept}
