"""Appending to the audit log: each entry linked to the last under the chain key, in one write,
fsync'd.

Appends are serialized across threads and processes by the lock file beside the log. A log that
cannot be written (a full disk) is ``StateUnwritable``; a write cut short leaves a torn tail,
which ``repair`` cuts, leaving an entry that says what it cut.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from runtime.audit.chainkey import ChainKey, chain_key_for_append, default_key_dir
from runtime.audit.entry import GENESIS, Entry, check_entry, format_ts, parse_line, render_line
from runtime.audit.events import AUDIT_REPAIRED, CHECKPOINT
from runtime.audit.lock import ProcessLock
from runtime.audit.repair import find_tail
from runtime.errors import BadRequest, IntegrityError, SkillRuntimeError, StateUnwritable
from runtime.util.fsio import fsync_dir

__all__ = ["AuditLog", "Pending"]

_CHUNK = 65536
Pending = tuple[str, str, dict[str, Any]]  # an entry to append: event, actor, fields
_DAEMON = "skillrt"  # the actor of what the log does to itself, as the daemon names itself


class AuditLog:
    """Appends entries to one log file; safe to share between threads and event loops."""

    def __init__(
        self,
        path: Path,
        *,
        keys: Path | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.path = path
        self.keys = keys or default_key_dir(path)
        self._clock = clock or time.time
        self._lock = ProcessLock(path)
        # (inode, size) of the file when this process last wrote, and the link that follows:
        # while the file is unchanged the last line need not be read again.
        self._tail: tuple[int, int, int, str, ChainKey] | None = None
        # What a repair cut but could not yet say in the log: (bytes, seq of the last intact).
        self._unsaid: tuple[int, int] | None = None

    def append(self, event: str, *, actor: str, **fields: Any) -> Entry:
        check_entry(event, actor, fields)
        try:
            with self._lock:
                return self._write(event, actor, fields)
        except OSError as exc:
            raise _unwritable(exc) from exc

    def repair(self, *, reason: str) -> Entry | None:
        """Cut a torn tail back to the last complete entry and append an ``audit.repaired``
        entry saying what was cut; None when there was nothing to cut or to say.

        A cut whose entry could not be written (the disk still full) is said by the next
        repair that can write, so no cut goes unrecorded by this process.
        """
        try:
            with self._lock:
                tail = find_tail(self.path)
                if tail.torn:
                    _truncate(self.path, tail.intact)
                    self._tail = None
                    cut = tail.torn + (self._unsaid[0] if self._unsaid else 0)
                    self._unsaid = (cut, tail.last_seq)
                if self._unsaid is None:
                    return None
                cut, last_seq = self._unsaid
                entry = self._write(
                    AUDIT_REPAIRED,
                    _DAEMON,
                    {"cut_bytes": cut, "resumed_after_seq": last_seq, "reason": reason},
                )
                self._unsaid = None
                return entry
        except OSError as exc:
            raise _unwritable(exc) from exc

    async def append_async(self, event: str, *, actor: str, **fields: Any) -> Entry:
        """``append`` off the event loop: the fsync must not stall other requests."""
        return await asyncio.to_thread(lambda: self.append(event, actor=actor, **fields))

    def append_all(self, items: Sequence[Pending]) -> list[Entry | SkillRuntimeError]:
        """Append ``items`` in order with one fsync for them all (group commit): each result is
        its entry, or why it is not on disk. An item whose fields are not JSON gets its
        ``BadRequest`` and the rest go on; a disk error fails every item (none is known to be
        on disk), and the torn tail it may leave is for ``repair``."""
        try:
            with self._lock:
                return self._write_all_items(items)
        except OSError as exc:
            failed = _unwritable(exc)
            return [failed for _ in items]

    def _write(self, event: str, actor: str, fields: dict[str, Any]) -> Entry:
        (result,) = self._write_all_items([(event, actor, fields)])
        if isinstance(result, SkillRuntimeError):
            raise result
        return result

    def _write_all_items(self, items: Sequence[Pending]) -> list[Entry | SkillRuntimeError]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            st = os.fstat(fd)
            if st.st_mode & 0o077:
                os.fchmod(fd, 0o600)
            if self._tail is not None and self._tail[:2] == (st.st_ino, st.st_size):
                seq, prev, key = self._tail[2:]
            else:
                seq, prev, key = _next_link(self.path, self.keys)
            size = st.st_size
            results: list[Entry | SkillRuntimeError] = []
            for event, actor, fields in items:
                try:
                    entry = _entry(seq, prev, key, event, actor, fields, self._clock())
                except BadRequest as exc:
                    results.append(exc)
                    continue
                data = (entry.line() + "\n").encode()
                _write_all(fd, data)
                size, seq, prev = size + len(data), seq + 1, entry.hash
                results.append(entry)
            os.fsync(fd)
            if st.st_size == 0:
                fsync_dir(self.path.parent)
            self._tail = (st.st_ino, size, seq, prev, key)
            return results
        finally:
            os.close(fd)


def _entry(
    seq: int,
    prev: str,
    key: ChainKey,
    event: str,
    actor: str,
    fields: dict[str, Any],
    now: float,
) -> Entry:
    check_entry(event, actor, fields)
    body: dict[str, Any] = {
        "seq": seq,
        "ts": format_ts(now),
        "event": event,
        "actor": actor,
        **fields,
        "prev": prev,
    }
    try:
        # Hash what a reader will parse back, not Python values that JSON changes (an int key
        # becomes a string, a tuple a list).
        body = json.loads(render_line(body))
        return Entry.from_body({**body, "hash": key.link(body)})
    except (TypeError, ValueError) as exc:
        raise BadRequest(f"audit: fields must be JSON values: {exc}") from exc


def _write_all(fd: int, data: bytes) -> None:
    # A short write means the disk filled mid-line: trying the rest names the error (ENOSPC).
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _truncate(path: Path, size: int) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
    try:
        os.ftruncate(fd, size)
        os.fsync(fd)
    finally:
        os.close(fd)


def _unwritable(exc: OSError) -> StateUnwritable:
    return StateUnwritable(f"audit log cannot be written: {exc.strerror or exc}")


def _next_link(path: Path, keys: Path) -> tuple[int, str, ChainKey]:
    """The seq, prev and chain key of the entry that follows the last line of ``path``."""
    raw = _last_line(path)
    if raw is None:
        return 1, GENESIS, chain_key_for_append(keys, path, None)
    body, broken = parse_line(0, raw)
    if broken is not None or not raw.endswith(b"\n"):
        raise IntegrityError(
            f"{path}: the last line is not a complete entry; run `skillrt audit verify`"
        )
    assert body is not None
    key = chain_key_for_append(keys, path, body)
    if body["event"] == CHECKPOINT:
        return body["seq"] + 1, str(body["last_pruned_hash"]), key
    return body["seq"] + 1, str(body["hash"]), key


def _last_line(path: Path) -> bytes | None:
    with path.open("rb") as file:
        end = file.seek(0, os.SEEK_END)
        if end == 0:
            return None
        tail = b""
        position = end
        # Read backwards until the newline that ends the line before the last one.
        while position > 0 and tail.count(b"\n") < 2:
            step = min(_CHUNK, position)
            position -= step
            file.seek(position)
            tail = file.read(step) + tail
        return tail.rstrip(b"\n").rsplit(b"\n", 1)[-1] + (b"\n" if tail.endswith(b"\n") else b"")
