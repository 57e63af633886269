"""Reading the log: the entries a query selects, the last few, and new ones as they come."""

from __future__ import annotations

import contextlib
import os
import time
from collections import deque
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from runtime.audit.entry import Entry, parse_line
from runtime.errors import IntegrityError, NoSuchEntity

__all__ = ["Query", "entries", "tail"]


@dataclass(frozen=True, kw_only=True)
class Query:
    """Which entries to read: event names (``token.*`` for a family), actor, time range."""

    events: Collection[str] = ()
    actor: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def matches(self, entry: Entry) -> bool:
        if self.events and not any(_event_matches(entry.event, e) for e in self.events):
            return False
        if self.actor is not None and entry.actor != self.actor:
            return False
        if self.since is not None and entry.time < self.since:
            return False
        return self.until is None or entry.time < self.until


def entries(path: Path, query: Query | None = None) -> Iterator[Entry]:
    """Every entry of the log that ``query`` matches, oldest first."""
    wanted = query or Query()
    with contextlib.closing(_Reader(path)) as reader:
        yield from (e for e in reader.available() if wanted.matches(e))


def tail(
    path: Path,
    count: int,
    query: Query | None = None,
    *,
    follow: bool = False,
    poll_seconds: float = 0.5,
    stop: Callable[[], bool] | None = None,
) -> Iterator[Entry]:
    """The last ``count`` matching entries; with ``follow``, then each new one as it comes.

    Following survives a prune (the file is replaced): the new file is read from its start and
    entries already seen are skipped. ``stop`` is asked between polls.
    """
    wanted = query or Query()
    with contextlib.closing(_Reader(path)) as reader:
        yield from deque((e for e in reader.available() if wanted.matches(e)), maxlen=count)
        while follow and not (stop is not None and stop()):
            fresh = list(reader.available())
            yield from (e for e in fresh if wanted.matches(e))
            if not fresh:
                time.sleep(poll_seconds)


class _Reader:
    """Reads complete lines as they are appended; reopens the file when a prune replaces it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: BinaryIO | None = None
        self._inode = -1
        self._line = 0
        self._last_seq = 0

    def available(self) -> Iterator[Entry]:
        self._reopen_if_replaced()
        if self._file is None:
            return
        while True:
            start = self._file.tell()
            raw = self._file.readline()
            if not raw.endswith(b"\n"):
                self._file.seek(start)  # a line still being written
                return
            self._line += 1
            body, broken = parse_line(self._line, raw)
            if broken is not None:
                raise IntegrityError(f"{self.path}: {broken}; run `skillrt audit verify`")
            assert body is not None
            # After a prune replaced the file, what was already read is read again: skip it.
            if body["seq"] > self._last_seq:
                self._last_seq = body["seq"]
                yield Entry.from_body(body)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()

    def _reopen_if_replaced(self) -> None:
        try:
            inode = os.stat(self.path).st_ino
        except FileNotFoundError:
            if self._file is None:
                raise NoSuchEntity(f"{self.path}: no audit log") from None
            return
        if inode == self._inode:
            return
        self.close()
        self._file = self.path.open("rb")
        self._inode = os.fstat(self._file.fileno()).st_ino
        self._line = 0


def _event_matches(event: str, pattern: str) -> bool:
    if pattern.endswith(".*"):
        return event.startswith(pattern[:-1])
    return event == pattern
